"""Background jobs: huey runs them, the ``jobs`` table shows their state to people and the API.

A feature defines a task in ``hub/<feature>/tasks.py`` (imported by the web app and the worker
for every package in ``hub.FEATURES``) and starts it from a view or a service::

    from hub.infra import jobs

    @jobs.task("render_notebook")
    def render_notebook(job_id: int, payload: dict) -> dict:
        jobs.progress(job_id, 10, "Rendering")
        ...                       # db.session() works here: tasks run in an app context
        return {"html_digest": digest}   # stored as the job's JSON result

    job = jobs.enqueue("render_notebook", {"notebook_id": nb.id}, owner=current_user)
    # job.id -> show it with the progress widget or poll GET /jobs/<id>.json

``enqueue`` commits the current database session first (the job row, and whatever the job is
about, must be visible to the worker) and returns the :class:`~hub.infra.models.Job` row. A job
goes ``queued`` -> ``running`` -> ``done`` (with ``result``) or ``failed`` (with ``message``).
A task that raises fails its job and nothing else: the worker carries on. Raise
:class:`JobError` for a failure message meant for the job's owner.

The queue is ``QUEUE_URL``: ``sqlite:///path`` (default, under the instance folder) or
``redis://host:port/db``. The worker is ``python -m hub.infra.jobs worker``; ``python app.py``
starts one next to the web server (``--no-worker`` to run workers elsewhere).

Tests of feature code may set ``JOBS_IMMEDIATE = True`` in the app config: huey's immediate
mode then runs each job synchronously inside ``enqueue`` (same states, same table), with no
worker needed.

Queue messages are JSON (:class:`JSONSerializer`), never pickle.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import importlib.util
import json
import logging
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from huey import RedisHuey, SqliteHuey
from huey import signals as huey_signals
from huey.api import Huey
from huey.consumer import Consumer
from huey.registry import Message
from huey.serializer import Serializer
from sqlalchemy import update

from hub.db import get_database, utcnow
from hub.infra.models import Job

log = logging.getLogger("hub.jobs")

EXTENSION_KEY = "skiff_jobs"
MESSAGE_LIMIT = 1000

#: Task functions by kind, filled by :func:`task`.
TASKS: dict[str, Callable[[int, dict[str, Any]], Any]] = {}


def N_(message: str) -> str:
    """Mark a progress message for translation (``jobs.progress(job_id, 10, N_("Checking"))``).

    Jobs run outside any request, so the message is stored in English; pages and the JSON
    poller translate it into the reader's language when they show it.
    """
    return message


class JobError(Exception):
    """Raised by a task to fail its job with a message for the job's owner."""


def task(kind: str) -> Callable[[Callable], Callable]:
    """Register ``func(job_id, payload) -> result`` as the task that runs jobs of ``kind``.

    The result must be JSON (or ``None``); it is stored on the job.
    """
    if not kind or len(kind) > 64:
        raise ValueError("a job kind is a name of 1 to 64 characters")

    def register(func: Callable) -> Callable:
        existing = TASKS.get(kind)
        if existing is not None and existing is not func and (
            existing.__module__,
            existing.__qualname__,
        ) != (func.__module__, func.__qualname__):
            raise ValueError(f"two tasks for the job kind {kind!r}")
        TASKS[kind] = func
        return func

    return register


# ---------------------------------------------------------------------------------------------
# Queue messages as JSON


class JSONSerializer(Serializer):
    """Huey's messages as JSON: task messages, timestamps and tuples; nothing executable."""

    def _serialize(self, data: Any) -> bytes:
        return json.dumps(_encode(data), separators=(",", ":")).encode()

    def _deserialize(self, data: bytes) -> Any:
        return _decode(json.loads(data))


def _encode(value: Any) -> Any:
    if isinstance(value, Message):
        return {"$message": [_encode(v) for v in value]}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("queue messages take dicts with string keys only")
        return {k: _encode(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot put a {type(value).__name__} into a queue message")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1:
            (key, inner), = value.items()
            if key == "$message":
                return Message(*[_decode(v) for v in inner])
            if key == "$datetime":
                return datetime.fromisoformat(inner)
            if key == "$tuple":
                return tuple(_decode(v) for v in inner)
            if key == "$bytes":
                return base64.b64decode(inner)
        return {k: _decode(v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------------------------------------
# The queue of one app


def huey_from_url(url: str, *, immediate: bool = False, name: str = "skiff") -> Huey:
    """A huey instance for ``QUEUE_URL``: ``sqlite:///path`` or ``redis://…``."""
    common = {"results": False, "serializer": JSONSerializer(), "immediate": immediate,
              "utc": True}
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, **common)
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if not path or path == ":memory:":
            raise ValueError("QUEUE_URL sqlite:/// needs a file path")
        from pathlib import Path

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Web threads enqueue while worker threads dequeue: wait for the lock, do not fail.
        return SqliteHuey(name, filename=path, timeout=30, **common)
    raise ValueError(f"unsupported QUEUE_URL {url!r}: use sqlite:///path or redis://host/db")


class JobQueue:
    """The huey queue of one app, with the single huey task that runs every job."""

    def __init__(self, app: Flask, url: str, *, immediate: bool = False):
        self.app = app
        self.url = url
        self.huey = huey_from_url(url, immediate=immediate)

        def run_job(job_id: int) -> None:
            with self.app.app_context():
                execute(job_id)

        self.run_job = self.huey.task(name="skiff_run_job")(run_job)

        @self.huey.signal(huey_signals.SIGNAL_INTERRUPTED)
        def interrupted(signal, huey_task, *args, **kwargs):
            # The worker stopped while the job ran: say so instead of leaving it "running".
            if huey_task.args:
                with self.app.app_context():
                    _finish(huey_task.args[0], "failed",
                            message="Interrupted: the worker stopped while the job was running.")

    def submit(self, job_id: int) -> None:
        """Put an existing, committed job on the queue."""
        self.run_job(job_id)

    def consumer(self, workers: int = 1, **options: Any) -> Consumer:
        """A huey consumer for this queue (call ``.run()``; see :func:`main`)."""
        options.setdefault("periodic", False)
        options.setdefault("worker_type", "thread")
        return self.huey.create_consumer(workers=workers, **options)


def init_app(app: Flask) -> JobQueue:
    """Give ``app`` its job queue (``app.extensions['skiff_jobs']``) and load feature tasks."""
    url = app.config.get("QUEUE_URL") or f"sqlite:///{app.instance_path}/jobs.db"
    queue = JobQueue(app, url, immediate=bool(app.config.get("JOBS_IMMEDIATE")))
    app.extensions[EXTENSION_KEY] = queue
    load_tasks()
    return queue


def get_queue(app: Flask | None = None) -> JobQueue:
    """The job queue of ``app`` (default: the current app)."""
    return (app or current_app).extensions[EXTENSION_KEY]


def load_tasks() -> list[str]:
    """Import ``hub.<feature>.tasks`` for every feature, so their tasks are registered."""
    from hub import FEATURES

    loaded = []
    for name in FEATURES:
        module = f"hub.{name}.tasks"
        try:
            spec = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            continue
        if spec is not None:
            importlib.import_module(module)
            loaded.append(module)
    return loaded


# ---------------------------------------------------------------------------------------------
# Starting jobs and reporting progress


def enqueue(kind: str, payload: dict[str, Any] | None = None, *, owner: Any = None) -> Job:
    """Create a job of ``kind`` for ``owner`` (a user or a user id) and queue it.

    Commits the current session first. Returns the job row; with ``JOBS_IMMEDIATE`` the job
    has already run and the row shows its final state.
    """
    from hub import db

    if kind not in TASKS:
        raise ValueError(f"no task is registered for the job kind {kind!r}")
    payload = dict(payload or {})
    json.dumps(payload)  # refuse what the queue could not carry, before anything is saved
    owner_id = getattr(owner, "id", owner)
    session = db.session()
    job = Job(kind=kind, payload=payload, owner_id=owner_id, status="queued", progress=0,
              message="")
    session.add(job)
    session.commit()
    queue = get_queue()
    try:
        queue.submit(job.id)
    except Exception as exc:
        # The queue is unreachable: the job would never run, so it must not look queued.
        _finish(job.id, "failed", message=f"Could not queue the job: {exc}"[:MESSAGE_LIMIT])
        _reload(session, job)
        raise
    if queue.huey.immediate:
        _reload(session, job)
    return job


def _reload(session, job: Job) -> None:
    """Re-read ``job`` after another session changed it, without keeping a transaction open."""
    session.refresh(job)
    session.commit()  # ends the read; nothing else is pending (enqueue committed before)


def get_job(job_id: int) -> Job | None:
    """The job with this id, read in the current session."""
    from hub import db

    return db.session().get(Job, job_id)


def progress(job_id: int, percent: int | float, message: str | None = None) -> None:
    """Report a running job's progress (0-100) and, optionally, what it is doing now.

    Written and committed at once in a session of its own, so the task's own unfinished
    database work is not committed with it.
    """
    values: dict[str, Any] = {"progress": max(0, min(100, int(percent)))}
    if message is not None:
        values["message"] = str(message)[:MESSAGE_LIMIT]
    database = get_database()
    with database.writing() as session:
        session.execute(
            update(Job).where(Job.id == job_id, Job.status == "running").values(**values)
        )
        session.commit()


def _finish(job_id: int, status: str, *, message: str | None = None, result: Any = None) -> None:
    values: dict[str, Any] = {"status": status, "finished_at": utcnow()}
    if status == "done":
        values["progress"] = 100
        values["result"] = result
    if message is not None:
        values["message"] = message[:MESSAGE_LIMIT]
    database = get_database()
    with database.writing() as session:
        session.execute(
            update(Job).where(Job.id == job_id, Job.status.in_(("queued", "running")))
            .values(**values)
        )
        session.commit()


def execute(job_id: int) -> None:
    """Run one job inside the current app context (what the worker does for each message).

    The job is claimed atomically (``queued`` -> ``running``), so a message delivered twice
    runs it once. Every exception of the task is recorded on the job and swallowed.
    """
    from hub import db

    database = get_database()
    with database.writing() as session:
        claimed = session.execute(
            update(Job).where(Job.id == job_id, Job.status == "queued")
            .values(status="running", started_at=utcnow(), progress=0)
        ).rowcount
        session.commit()
        job = session.get(Job, job_id) if claimed else None
        kind, payload = (job.kind, dict(job.payload or {})) if job else (None, None)
    if not claimed:
        log.warning("job %s is missing or not queued; skipped", job_id)
        return
    func = TASKS.get(kind)
    if func is None:
        _finish(job_id, "failed", message=f"No task is registered for the job kind {kind!r}.")
        return
    log.info("job %s (%s) started", job_id, kind)
    try:
        result = func(job_id, payload)
        json.dumps(result)
    except JobError as exc:
        db.session().rollback()
        log.info("job %s (%s) failed: %s", job_id, kind, exc)
        _finish(job_id, "failed", message=str(exc) or "The job failed.")
        return
    except Exception as exc:
        db.session().rollback()
        log.exception("job %s (%s) crashed", job_id, kind)
        _finish(job_id, "failed", message=f"{type(exc).__name__}: {exc}")
        return
    _finish(job_id, "done", result=result)
    log.info("job %s (%s) done", job_id, kind)


# ---------------------------------------------------------------------------------------------
# The worker command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hub.infra.jobs",
        description="Skiff's background job worker (a huey consumer on QUEUE_URL).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    worker = sub.add_parser("worker", help="run jobs from the queue until stopped")
    worker.add_argument("--workers", type=int, default=2, help="worker threads (default 2)")
    worker.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="also import MODULE to register its tasks (repeatable)",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    """``python -m hub.infra.jobs worker``: consume jobs until SIGINT/SIGTERM."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from hub import create_app

    app = create_app()
    for module in args.imports:
        importlib.import_module(module)
    queue = get_queue(app)
    if queue.huey.immediate:
        sys.exit("JOBS_IMMEDIATE is set: jobs run inside the web app, no worker is needed")
    log.info("worker on %s with %d thread(s); tasks: %s", _safe_url(queue.url), args.workers,
             ", ".join(sorted(TASKS)) or "none")
    queue.consumer(workers=args.workers).run()


def _safe_url(url: str) -> str:
    """The queue URL without a password, for logs."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


if __name__ == "__main__":
    # Run the imported module's main, so tasks register in the one TASKS that features use.
    from hub.infra.jobs import main as _main

    _main()
