"""``JOBS_IMMEDIATE``: the synchronous mode feature teams use in their tests."""

from __future__ import annotations

import pytest

from hub import db as hub_db
from hub.infra import jobs
from hub.infra.models import Job
from tests.hub.infra import job_tasks  # noqa: F401  (registers the test tasks)


@pytest.fixture
def app_config():
    return {"JOBS_IMMEDIATE": True}


def test_immediate_mode_runs_the_job_inside_enqueue(app):
    with app.app_context():
        job = jobs.enqueue("test.add", {"a": 40, "b": 2})
        assert (job.status, job.progress, job.result) == ("done", 100, {"sum": 42})
        failed = jobs.enqueue("test.crash")
        assert failed.status == "failed"
        assert failed.message == "RuntimeError: the model file is corrupt"
        assert hub_db.session().query(Job).count() == 2
    assert jobs.get_queue(app).huey.immediate
