"""Tasks the job tests run (imported by the test process and by the worker subprocess)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from hub import db
from hub.infra import jobs
from hub.infra.models import Job


@jobs.task("test.add")
def add(job_id: int, payload: dict) -> dict:
    jobs.progress(job_id, 50, "adding")
    return {"sum": payload["a"] + payload["b"]}


@jobs.task("test.gated")
def gated(job_id: int, payload: dict) -> dict:
    """Reports progress, then waits until the test creates the gate file."""
    jobs.progress(job_id, 40, "waiting at the gate")
    gate = Path(payload["gate"])
    deadline = time.monotonic() + 30
    while not gate.exists():
        if time.monotonic() > deadline:
            raise jobs.JobError("the gate never opened")
        time.sleep(0.02)
    return {"passed": True, "pid": os.getpid()}


@jobs.task("test.crash")
def crash(job_id: int, payload: dict) -> None:
    # Unfinished database work of a failing task is rolled back, not committed.
    session = db.session()
    session.get(Job, job_id).message = "half-done work that must not be kept"
    raise RuntimeError("the model file is corrupt")


@jobs.task("test.refuse")
def refuse(job_id: int, payload: dict) -> None:
    raise jobs.JobError("Your notebook has no cells.")


@jobs.task("test.unserializable")
def unserializable(job_id: int, payload: dict) -> object:
    return object()
