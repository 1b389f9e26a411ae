"""With a real huey consumer: a hostile run fails cleanly and the worker carries on."""

from __future__ import annotations

import time

import pytest

from hub import db as hub_db
from hub.infra import jobs
from hub.notebooks import services
from hub.notebooks.models import NotebookRun, NotebookVersion
from tests.hub.infra.test_jobs import EmbeddedConsumer
from tests.hub.notebooks.conftest import make_notebook


@pytest.fixture
def app_config():
    return {"JOBS_IMMEDIATE": False, "NOTEBOOK_CELL_TIMEOUT": 3, "NOTEBOOK_RUN_SECONDS": 60,
            "NOTEBOOK_RUN_MEMORY": 1536 * 2**20}


def wait_for_run(app, run_id: int, timeout: float = 120) -> NotebookRun:
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            run = hub_db.session().get(NotebookRun, run_id)
            if run.finished:
                return run
        assert time.monotonic() < deadline, f"run {run_id} is still {run.status}"
        time.sleep(0.1)


def test_worker_survives_hostile_runs_and_renders(app, make_user, client):
    user = make_user()
    notebooks = {
        "hog": make_notebook("import numpy as np\nbig = np.ones((4 * 1024**3) // 8)"),
        "good": make_notebook("import framework\nprint('fine')"),
    }
    run_ids = {}
    with app.app_context():
        for slug, data in notebooks.items():
            version = services.upload_notebook(user, data, slug=slug, render=False)
            hub_db.session().commit()
            run_ids[slug] = services.request_run(version, requested_by=user).id
    consumer = EmbeddedConsumer(jobs.get_queue(app).huey, workers=1, periodic=False,
                                initial_delay=0.02, max_delay=0.1, check_worker_health=False)
    consumer.start()
    try:
        hog = wait_for_run(app, run_ids["hog"])
        good = wait_for_run(app, run_ids["good"])
        assert hog.status == "failed"
        assert "MemoryError" in hog.error or "kernel died" in hog.error
        assert good.status == "passed", good.error
        assert client.get("/healthz").status_code == 200
        # The executed version of the good run is rendered by the same worker.
        deadline = time.monotonic() + 60
        while True:
            with app.app_context():
                executed = hub_db.session().get(NotebookVersion, good.result_version_id)
                if executed.render_state != "pending":
                    break
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert executed.render_state == "done"
    finally:
        consumer.stop(graceful=True)
