"""Running notebooks in the sandbox: passed, failed at a cell, timed out, out of memory, no
network; the hub stays up and the outcome is clear."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub import db as hub_db
from hub.infra.models import Job
from hub.notebooks import services
from hub.notebooks.models import NotebookRun
from tests.hub.notebooks.conftest import make_notebook


def run_notebook(app, user, data: bytes, slug: str):
    """Upload ``data`` as ``slug`` and run it (jobs run at once); the run, re-read."""
    with app.app_context():
        version = services.upload_notebook(user, data, title=slug, slug=slug, render=False)
        hub_db.session().commit()
        run = services.request_run(version, requested_by=user)
        run_id = run.id
    with app.app_context():
        run = hub_db.session().get(NotebookRun, run_id)
        job = hub_db.session().get(Job, run.job_id)
        return run, job, run.result_version, services.badge(run.notebook)


def test_a_passing_run_records_outputs_version_and_badge(app, client, make_user, login):
    user = make_user(username="ada")
    data = make_notebook("import framework as fw\nx = fw.tensor([1.0, 2.0, 3.0])",
                         "print('sum', float((x * 2).sum()))")
    run, job, executed, badge = run_notebook(app, user, data, "passes")
    assert run.status == "passed", run.error
    assert job.status == "done"
    import framework

    assert run.framework_version == framework.__version__
    assert run.duration is not None and run.duration > 0
    assert executed is not None and executed.source == "run" and executed.number == 2
    with app.app_context():
        import nbformat

        from hub.infra.storage import get_storage

        nb = nbformat.reads(get_storage().read_bytes(executed.digest).decode(), as_version=4)
        assert nb.cells[1].outputs[0]["text"] == "sum 12.0\n"
    assert badge["state"] == "passed"
    assert badge["text"].startswith(f"runs on framework {framework.__version__} (checked ")

    login(client, user)
    page = client.get("/notebooks/ada/passes").get_data(as_text=True)
    assert f"runs on framework {framework.__version__}" in page
    assert "Every cell ran" in page


def test_a_failing_cell_is_named_with_its_error(app, make_user):
    user = make_user()
    data = make_notebook("# md\nintro", "a = 1", "raise ValueError('broken lesson')", "b = 2")
    run, job, executed, badge = run_notebook(app, user, data, "fails")
    assert run.status == "failed"
    assert run.failed_cell == 3
    assert run.error == "ValueError: broken lesson"
    assert executed is not None  # the outputs up to the error are kept
    assert badge["state"] == "failed" and "at cell 3" in badge["text"]


@pytest.mark.parametrize("app_config", [{"JOBS_IMMEDIATE": True, "NOTEBOOK_CELL_TIMEOUT": 3,
                                         "NOTEBOOK_RUN_SECONDS": 60}], indirect=True)
def test_an_endless_loop_times_out_and_the_hub_stays_up(app, client, make_user):
    user = make_user()
    run, job, _, badge = run_notebook(app, user, make_notebook("x = 1", "while True:\n    x += 1"),
                                      "loops")
    assert run.status == "timed_out"
    assert run.failed_cell == 2
    assert "longer than 3 s" in run.error
    assert badge["state"] == "timed_out"
    assert client.get("/healthz").status_code == 200
    client.post("/language", data={"lang": "zh"})
    page = client.get(f"/notebooks/{user.username}/loops").get_data(as_text=True)
    assert "超时：该单元格运行超过了 3 秒。" in page


@pytest.mark.parametrize("app_config", [{"JOBS_IMMEDIATE": True, "NOTEBOOK_CELL_TIMEOUT": 60,
                                         "NOTEBOOK_RUN_SECONDS": 8}], indirect=True)
def test_the_total_time_limit_stops_the_whole_run(app, client, make_user):
    user = make_user()
    data = make_notebook("import time", "time.sleep(3)", "time.sleep(3)", "time.sleep(3)",
                         "time.sleep(3)")
    run, job, executed, _ = run_notebook(app, user, data, "slow")
    assert run.status == "timed_out"
    assert "longer than the limit of 8 s" in run.error
    assert executed is None
    assert client.get("/healthz").status_code == 200


def test_no_network_and_too_much_memory_fail_cleanly(app, client, make_user):
    user = make_user()
    data = make_notebook(
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 80), timeout=5)\n"
        "    print('connected')\n"
        "except OSError as exc:\n"
        "    print('no network:', exc)",
        "import numpy as np\nbig = np.ones((4 * 1024**3) // 8)",
        "print('never reached')")
    run, _, executed, _ = run_notebook(app, user, data, "hostile")
    assert run.status == "failed"
    assert run.failed_cell == 2
    assert "MemoryError" in run.error or "kernel died" in run.error
    with app.app_context():
        import nbformat

        from hub.infra.storage import get_storage

        nb = nbformat.reads(get_storage().read_bytes(executed.digest).decode(), as_version=4)
    printed = nb.cells[0].outputs[0]["text"]
    assert printed.startswith("no network:") and "connected\n" != printed
    assert nb.cells[2].outputs == []
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("app_config", [{"JOBS_IMMEDIATE": False}], indirect=True)
def test_runs_through_the_page_need_the_owner(app, client, make_user, login):
    owner = make_user(username="owner")
    other = make_user(username="other")
    with app.app_context():
        services.upload_notebook(owner, make_notebook("print(1)"), title="Mine")
        hub_db.session().commit()
    login(client, other)
    assert client.post("/notebooks/owner/mine/run").status_code == 404
    login(client, owner)
    assert client.post("/notebooks/owner/mine/run", data={"version": "1"}).status_code == 302
    with app.app_context():
        run = hub_db.session().scalar(select(NotebookRun))
        assert run.status == "queued" and run.job_id is not None  # a worker will run it
    page = client.get("/notebooks/owner/mine").get_data(as_text=True)
    assert "Waiting to run…" in page and 'class="job-progress job-queued"' in page
