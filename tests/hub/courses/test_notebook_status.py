"""Each course page says whether all its notebooks run on the current framework, from the
notebooks feature's latest run of each lesson notebook; teachers can check them all."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hub import db as hub_db
from hub.courses import services
from hub.db import utcnow
from hub.notebooks.models import NotebookRun

from .conftest import course


def _run(lesson, status, version=None, **fields):
    notebook = lesson.notebook
    run = NotebookRun(notebook_id=notebook.id, version_id=notebook.latest_version.id,
                      status=status, framework_version=version or
                      services.current_framework_version(), finished_at=utcnow(), **fields)
    hub_db.session().add(run)
    hub_db.session().commit()
    return run


def test_status_follows_the_latest_runs(client, db, imported):
    lesson = course().lessons[1]
    assert services.notebook_status(course()).state == "pending"

    _run(lesson, "failed", failed_cell=2, error="NameError: name 'x' is not defined")
    status = services.notebook_status(course())
    assert (status.state, status.failed, status.total) == ("failed", 1, 1)
    page = client.get("/courses/intro-fixture").get_data(as_text=True)
    assert "1 of 1 notebooks fail on the framework." in page
    assert "fails at cell 2: NameError" in page

    _run(lesson, "passed", duration=1.5)
    status = services.notebook_status(course())
    assert (status.state, status.passed) == ("passed", 1)
    page = client.get("/courses/intro-fixture").get_data(as_text=True)
    version = services.current_framework_version()
    assert f"All 1 notebooks run on framework {version}." in page


def test_a_pass_on_another_framework_version_is_not_enough(db, imported):
    _run(course().lessons[1], "passed", version="0.0.1")
    assert services.notebook_status(course()).state == "pending"


def test_a_run_in_progress_keeps_the_last_outcome_visible(db, imported):
    lesson = course().lessons[1]
    _run(lesson, "passed")
    queued = _run(lesson, "queued")
    queued.finished_at = None
    hub_db.session().commit()
    status = services.notebook_status(course())
    assert status.state == "pending"
    assert status.lessons[0][1].status == "passed"


def test_markdown_only_course_has_nothing_to_run(app, db, imported, teacher):
    with app.test_request_context():
        c = services.create_course(hub_db.session().merge(teacher), slug="reading", title="R")
        services.add_markdown_lesson(c, title="Only text")
        hub_db.session().commit()
    assert services.notebook_status(c).state == "none"


def test_teacher_queues_runs_of_every_notebook(client, db, login, imported, teacher):
    login(client, teacher)
    before = utcnow() - timedelta(seconds=1)
    response = client.post("/courses/intro-fixture/check-notebooks")
    assert response.status_code == 302
    runs = hub_db.session().scalars(select(NotebookRun)).all()
    assert len(runs) == 1 and runs[0].notebook_id == course().lessons[1].notebook_id
    assert runs[0].job_id is not None and runs[0].created_at >= before
    page = client.get("/courses/intro-fixture").get_data(as_text=True)
    assert "running now" in page


@pytest.mark.slow
@pytest.mark.parametrize("app_config", [{"JOBS_IMMEDIATE": True}], indirect=True)
def test_check_all_runs_the_notebooks_in_the_sandbox(client, db, login, imported, teacher):
    """End to end: the teacher's button runs the lesson notebook for real, and the course
    page then says that every notebook runs on this framework."""
    login(client, teacher)
    client.post("/courses/intro-fixture/check-notebooks")
    hub_db.session().expire_all()
    status = services.notebook_status(course())
    assert status.state == "passed", [(run.status, run.error) for _, run in status.lessons]
    version = services.current_framework_version()
    page = client.get("/courses/intro-fixture").get_data(as_text=True)
    assert f"All 1 notebooks run on framework {version}." in page
