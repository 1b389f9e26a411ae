"""In chromium: a job's page follows the job's progress without a manual reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from hub import db as hub_db
from hub.db import utcnow
from hub.infra import jobs
from hub.infra.models import Job
from tests.hub.infra import job_tasks  # noqa: F401  (registers the test tasks)

pytestmark = pytest.mark.browser


def _set(app, job_id: int, **values) -> None:
    with app.app_context():
        session = hub_db.session()
        session.execute(update(Job).where(Job.id == job_id).values(**values))
        session.commit()


def test_job_page_updates_itself_as_the_job_runs(live_server, browser_page, make_user):
    app, page = live_server.app, browser_page
    owner = make_user()
    with app.app_context():
        job_id = jobs.enqueue("test.add", {"a": 1, "b": 2}, owner=owner).id

    page.goto(live_server.url + "/login")
    page.get_by_label("Username or email").fill(owner.username)
    page.get_by_label("Password").fill(owner.plain_password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("account-menu")).to_be_visible()

    page.goto(f"{live_server.url}/jobs/{job_id}")
    widget = page.locator(".job-progress")
    expect(widget.locator(".job-status")).to_have_text("Queued")
    page.evaluate("window.skiffNotReloaded = true")

    _set(app, job_id, status="running", started_at=utcnow(), progress=40,
         message="Rendering cell 4 of 10")
    expect(widget.locator(".job-status")).to_have_text("Running")
    expect(widget.locator(".job-message")).to_have_text("Rendering cell 4 of 10")
    expect(widget.locator("progress")).to_have_js_property("value", 40)
    expect(widget.locator(".job-percent")).to_have_text("40%")
    assert page.evaluate("window.skiffNotReloaded") is True  # updated in place

    _set(app, job_id, status="done", finished_at=utcnow(), progress=100, message="",
         result={"sum": 3})
    # Done: the page reloads once to show what the job produced.
    expect(page.locator(".job-result")).to_contain_text('"sum": 3')
    expect(widget.locator(".job-status")).to_have_text("Done")
    assert page.evaluate("window.skiffNotReloaded") is None
