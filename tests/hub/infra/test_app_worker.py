"""``python app.py`` serves the hub and runs a job worker next to it (``--no-worker`` not)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from hub import db as hub_db
from hub.infra import jobs
from hub.infra.models import Job
from tests.hub.infra.test_jobs import wait_for

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        return b"zombie" not in Path(f"/proc/{pid}/status").read_bytes().lower()
    except FileNotFoundError:
        return False


def test_help_lists_the_worker_switch():
    out = subprocess.run([sys.executable, str(ROOT / "app.py"), "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "--no-worker" in out


def test_app_py_starts_a_job_worker_and_stops_it(app):
    # A job of a kind no task handles: the worker that app.py started must pick it up and
    # record the failure, which proves it consumes this app's queue.
    with app.app_context():
        session = hub_db.session()
        job = Job(kind="retired.kind", payload={}, status="queued", progress=0, message="")
        session.add(job)
        session.commit()
        job_id = job.id
        jobs.get_queue(app).submit(job_id)

    port = _free_port()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=app.config["DATABASE_URL"],
        QUEUE_URL=app.config["QUEUE_URL"],
        SKIFF_INSTANCE=app.config["INSTANCE_PATH"],
        SECRET_KEY=app.config["SECRET_KEY"],
    )
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    worker_pid = None
    try:
        for line in server.stdout:
            if "job worker started" in line:
                worker_pid = int(line.split("pid ")[1].rstrip(")\n"))
            if "Skiff hub on" in line:
                break
        assert worker_pid is not None and _alive(worker_pid)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as resp:
                    assert resp.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        failed = wait_for(app, job_id, lambda j: j.finished, timeout=60)
        assert failed.status == "failed"
        assert "No task is registered for the job kind 'retired.kind'" in failed.message
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)
    deadline = time.monotonic() + 30
    while worker_pid is not None and _alive(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker_pid)


def test_no_worker_starts_only_the_web_server(app):
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=app.config["DATABASE_URL"],
               QUEUE_URL=app.config["QUEUE_URL"], SKIFF_INSTANCE=app.config["INSTANCE_PATH"],
               SECRET_KEY=app.config["SECRET_KEY"])
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--no-worker"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        first = server.stdout.readline()
    finally:
        server.send_signal(signal.SIGINT)
        rest = server.communicate(timeout=60)[0]
    assert "Skiff hub on" in first
    assert "job worker" not in first + rest


def test_app_py_prepares_a_fresh_database_before_serving(tmp_path):
    # `python app.py` on a new instance must serve pages, not "no such table" errors.
    port = _free_port()
    database = tmp_path / "fresh.db"
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{database}", SKIFF_INSTANCE=str(tmp_path),
               QUEUE_URL=f"sqlite:///{tmp_path / 'jobs.db'}", SECRET_KEY="fresh-instance-test")
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--no-worker"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert "Skiff hub on" in server.stdout.readline()
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/search?q=skiff") as response:
                    status = response.status
                break
            except urllib.error.HTTPError as error:  # served, but not the page
                status = error.code
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=60)
    assert status == 200
    import sqlite3

    with sqlite3.connect(database) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"users", "alembic_version"} <= tables
