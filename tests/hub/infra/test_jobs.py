"""Background jobs: a real huey consumer moves jobs through their states; the job pages."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from huey.consumer import Consumer
from huey.registry import Message

from hub import db as hub_db
from hub.infra import jobs
from hub.infra.models import Job
from tests.hub.infra import job_tasks  # noqa: F401  (registers the test tasks)

ROOT = Path(__file__).resolve().parents[3]


class EmbeddedConsumer(Consumer):
    """A real huey consumer in this process's threads, leaving pytest's signal handlers alone."""

    def _set_signal_handlers(self):
        pass


@pytest.fixture
def start_worker():
    started = []

    def start(queue: jobs.JobQueue, workers: int = 1) -> Consumer:
        consumer = EmbeddedConsumer(queue.huey, workers=workers, periodic=False,
                                    initial_delay=0.02, max_delay=0.1, check_worker_health=False)
        consumer.start()
        started.append(consumer)
        return consumer

    yield start
    for consumer in started:
        consumer.stop(graceful=True)


def job_state(app, job_id: int) -> Job:
    with app.app_context():
        return hub_db.session().get(Job, job_id)


def wait_for(app, job_id: int, predicate, timeout: float = 20.0) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        job = job_state(app, job_id)
        if predicate(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job never reached the expected state: {job.to_dict()}")
        time.sleep(0.02)


def test_consumer_moves_a_job_from_queued_to_running_to_done(app, tmp_path, start_worker,
                                                             make_user):
    owner = make_user()
    gate = tmp_path / "gate"
    with app.app_context():
        job = jobs.enqueue("test.gated", {"gate": str(gate)}, owner=owner)
        job_id = job.id
        assert job.status == "queued"
        assert job.owner_id == owner.id
    assert job_state(app, job_id).status == "queued"  # nothing runs it without a worker

    start_worker(jobs.get_queue(app))
    running = wait_for(app, job_id, lambda j: j.status == "running" and j.progress == 40)
    assert running.message == "waiting at the gate"
    assert running.started_at is not None and running.finished_at is None

    gate.touch()
    done = wait_for(app, job_id, lambda j: j.finished)
    assert done.status == "done"
    assert done.progress == 100
    assert done.result == {"passed": True, "pid": os.getpid()}
    assert done.created_at <= done.started_at <= done.finished_at <= datetime.now(UTC)


def test_failing_task_is_recorded_and_the_consumer_carries_on(app, start_worker):
    with app.app_context():
        crash_id = jobs.enqueue("test.crash").id
        refuse_id = jobs.enqueue("test.refuse").id
        bad_result_id = jobs.enqueue("test.unserializable").id
        after_id = jobs.enqueue("test.add", {"a": 2, "b": 3}).id
    start_worker(jobs.get_queue(app))

    crashed = wait_for(app, crash_id, lambda j: j.finished)
    assert crashed.status == "failed"
    assert crashed.message == "RuntimeError: the model file is corrupt"  # not the half-done work
    assert crashed.finished_at is not None and crashed.result is None

    refused = wait_for(app, refuse_id, lambda j: j.finished)
    assert (refused.status, refused.message) == ("failed", "Your notebook has no cells.")

    bad = wait_for(app, bad_result_id, lambda j: j.finished)
    assert bad.status == "failed" and "not JSON serializable" in bad.message

    after = wait_for(app, after_id, lambda j: j.finished)
    assert (after.status, after.result, after.message) == ("done", {"sum": 5}, "adding")


def test_worker_command_runs_jobs_in_its_own_process(app):
    with app.app_context():
        job_id = jobs.enqueue("test.add", {"a": 20, "b": 22}).id
    env = dict(os.environ)
    env.update(
        DATABASE_URL=app.config["DATABASE_URL"],
        QUEUE_URL=app.config["QUEUE_URL"],
        SKIFF_INSTANCE=app.config["INSTANCE_PATH"],
        SECRET_KEY=app.config["SECRET_KEY"],
        PYTHONPATH=str(ROOT),
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "hub.infra.jobs", "worker", "--workers", "1",
         "--import", "tests.hub.infra.job_tasks"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        done = wait_for(app, job_id, lambda j: j.finished, timeout=60)
    finally:
        worker.send_signal(signal.SIGINT)
        output = worker.communicate(timeout=30)[0]
    assert done.status == "done", output
    assert done.result == {"sum": 42}
    assert worker.returncode == 0, output
    assert "test.add" in output


def test_unknown_kind_and_bad_payload_are_refused(app):
    with app.app_context():
        with pytest.raises(ValueError, match="no task"):
            jobs.enqueue("no.such.kind")
        with pytest.raises(TypeError):
            jobs.enqueue("test.add", {"a": object()})
        assert hub_db.session().query(Job).count() == 0


def test_queue_messages_are_json_not_pickle(app):
    with app.app_context():
        job_id = jobs.enqueue("test.add", {"a": 1, "b": 1}).id
    queue_file = app.config["QUEUE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(queue_file) as conn:
        (data,) = conn.execute("select data from task").fetchone()
    message = json.loads(data)
    fields = message["$message"]
    assert fields[1].endswith("skiff_run_job")
    assert fields[6] == {"$tuple": [job_id]}

    serializer = jobs.JSONSerializer()
    original = Message("id-1", "task", datetime(2026, 11, 27, tzinfo=UTC), 0, 0, None, (1, "x"),
                       {"k": [1, 2]}, None, None, None, None, None, None, None)
    assert serializer.deserialize(serializer.serialize(original)) == original
    with pytest.raises(TypeError):
        serializer.serialize({"obj": object()})


def test_progress_is_clamped_and_only_for_running_jobs(app):
    with app.app_context():
        job = jobs.enqueue("test.add", {"a": 1, "b": 2})
        jobs.progress(job.id, 70, "not running yet")
        assert job_state(app, job.id).progress == 0
        hub_db.session().execute(
            Job.__table__.update().where(Job.id == job.id).values(status="running")
        )
        hub_db.session().commit()
        jobs.progress(job.id, 250, "x" * 5000)
    state = job_state(app, job.id)
    assert state.progress == 100
    assert len(state.message) == jobs.MESSAGE_LIMIT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )
    if binary is None:
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    port = _free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    client.close()
    server.terminate()
    server.wait(timeout=10)


def test_redis_queue_runs_jobs(app, redis_url, start_worker):
    queue = jobs.JobQueue(app, redis_url)
    app.extensions[jobs.EXTENSION_KEY] = queue
    with app.app_context():
        ok_id = jobs.enqueue("test.add", {"a": 4, "b": 5}).id
        bad_id = jobs.enqueue("test.refuse").id
    assert queue.huey.pending_count() == 2
    start_worker(queue)
    assert wait_for(app, ok_id, lambda j: j.finished).result == {"sum": 9}
    assert wait_for(app, bad_id, lambda j: j.finished).status == "failed"


def test_unreachable_queue_fails_the_job_instead_of_leaving_it_queued(app):
    app.extensions[jobs.EXTENSION_KEY] = jobs.JobQueue(app, f"redis://127.0.0.1:{_free_port()}/0")
    with app.app_context():
        with pytest.raises(Exception, match="(?i)connect"):
            jobs.enqueue("test.add", {"a": 1, "b": 1})
        (job,) = hub_db.session().query(Job).all()
        hub_db.session().refresh(job)
        assert job.status == "failed"
        assert job.message.startswith("Could not queue the job")


def test_bad_queue_url_is_refused(app):
    with pytest.raises(ValueError, match="unsupported QUEUE_URL"):
        jobs.JobQueue(app, "amqp://elsewhere")


# --- pages ------------------------------------------------------------------------------------


def test_job_json_is_for_the_owner_and_admins_only(app, client, make_user, login):
    owner, other, admin = make_user(), make_user(), make_user(role="admin")
    with app.app_context():
        job_id = jobs.enqueue("test.add", {"a": 1, "b": 2}, owner=owner).id

    assert client.get(f"/jobs/{job_id}.json").status_code == 404  # anonymous
    login(client, other)
    assert client.get(f"/jobs/{job_id}.json").status_code == 404
    assert client.get(f"/jobs/{job_id}").status_code == 404
    login(client, owner)
    resp = client.get(f"/jobs/{job_id}.json")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["id"] == job_id and body["status"] == "queued" and body["progress"] == 0
    assert body["finished"] is False
    assert resp.headers["Cache-Control"] == "no-store"
    login(client, admin)
    assert client.get(f"/jobs/{job_id}.json").status_code == 200
    assert client.get("/jobs/999999.json").status_code == 404


def test_job_page_has_the_polling_widget_and_no_inline_script(app, client, make_user, login):
    owner = make_user()
    with app.app_context():
        job_id = jobs.enqueue("test.add", {"a": 1, "b": 2}, owner=owner).id
    login(client, owner)
    html = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert f'data-job-url="/jobs/{job_id}.json"' in html
    assert 'data-job-status="queued"' in html
    assert '<progress max="100" value="0"' in html
    assert '<script src="/static/js/jobs.js" defer></script>' in html
    assert "<script>" not in html
    js = client.get("/static/js/jobs.js")
    assert js.status_code == 200
    assert b"data-job-url" in js.data
    assert b"innerHTML" not in js.data


def test_admin_job_list(app, client, make_user, login):
    member, admin = make_user(), make_user(role="admin")
    with app.app_context():
        jobs.enqueue("test.add", {"a": 1, "b": 2}, owner=member)
        jobs.enqueue("test.refuse", owner=member)
    login(client, member)
    assert client.get("/admin/jobs").status_code == 403
    login(client, admin)
    html = client.get("/admin/jobs").get_data(as_text=True)
    assert "test.add" in html and "test.refuse" in html
    filtered = client.get("/admin/jobs?kind=test.refuse").get_data(as_text=True)
    assert "<code>test.refuse</code>" in filtered and "<code>test.add</code>" not in filtered
    assert "/admin/jobs" in client.get("/admin/").get_data(as_text=True)


def test_job_page_speaks_chinese(app, client, make_user, login):
    owner = make_user()
    with app.app_context():
        job_id = jobs.enqueue("test.add", {"a": 1, "b": 2}, owner=owner).id
    login(client, owner)
    client.set_cookie("skiff_lang", "zh")
    html = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert f"任务 {job_id}" in html
    assert "排队中" in html
    assert 'data-label-running="运行中"' in html


def test_stopping_the_worker_mid_job_marks_the_job_interrupted(app, tmp_path):
    with app.app_context():
        job_id = jobs.enqueue("test.gated", {"gate": str(tmp_path / "never")}).id
    env = dict(os.environ, DATABASE_URL=app.config["DATABASE_URL"],
               QUEUE_URL=app.config["QUEUE_URL"], SKIFF_INSTANCE=app.config["INSTANCE_PATH"],
               SECRET_KEY=app.config["SECRET_KEY"], PYTHONPATH=str(ROOT))
    worker = subprocess.Popen(
        [sys.executable, "-m", "hub.infra.jobs", "worker", "--workers", "1",
         "--import", "tests.hub.infra.job_tasks"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wait_for(app, job_id, lambda j: j.status == "running", timeout=60)
    finally:
        worker.send_signal(signal.SIGTERM)  # stop now, without waiting for running jobs
        output = worker.communicate(timeout=30)[0]
    job = job_state(app, job_id)
    assert job.status == "failed", output
    assert job.message.startswith("Interrupted")


def test_concurrent_enqueues_and_workers_lose_nothing(app, start_worker):
    import threading

    start_worker(jobs.get_queue(app), workers=2)
    ids: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def submit(offset: int) -> None:
        try:
            for i in range(5):
                with app.app_context():
                    job = jobs.enqueue("test.add", {"a": offset, "b": i})
                    ids.append((job.id, offset + i))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(100 * n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(ids) == 20
    for job_id, expected in ids:
        job = wait_for(app, job_id, lambda j: j.finished, timeout=60)
        assert (job.status, job.result) == ("done", {"sum": expected})
