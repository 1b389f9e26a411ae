"""In a real browser: a learner enrolls, opens a lesson, submits a wrong then a right answer
and reads the messages, marks the lesson complete and sees their progress."""

from __future__ import annotations

import pytest
import yaml
from playwright.sync_api import expect

from hub import db as hub_db

pytestmark = pytest.mark.browser


@pytest.fixture
def course_dir(course_dir):
    """The fixture course with its notebook lesson turned into a reading (no render job)."""
    data = yaml.safe_load((course_dir / "course.yaml").read_text(encoding="utf-8"))
    data["lessons"][1].pop("notebook")
    data["lessons"][1]["markdown"] = "welcome.md"
    (course_dir / "course.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return course_dir


def _sign_in(page, base, user) -> None:
    page.goto(base + "/login")
    page.get_by_label("Username or email").fill(user.username)
    page.get_by_label("Password").fill(user.plain_password)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize("app_config", [{"JOBS_IMMEDIATE": True}], indirect=True)
def test_learner_enrolls_answers_and_completes_a_lesson(live_server, imported, make_user,
                                                        browser_page):
    learner = make_user(username="lea")
    hub_db.session().close()
    page = browser_page
    base = live_server.url
    _sign_in(page, base, learner)

    page.goto(base + "/courses")
    page.get_by_role("link", name="Introduction to tensors").click()
    page.get_by_test_id("enroll").click()
    expect(page.get_by_test_id("course-progress")).to_contain_text("0 of 2 lessons complete")
    page.get_by_test_id("continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome")

    exercise = page.get_by_test_id("exercise-answer")
    box = exercise.get_by_label("Your code")
    expect(box).to_have_value("answer = 0\n")
    box.fill("answer = 40 + 1\n")
    exercise.get_by_test_id("check").click()
    result = page.get_by_test_id("exercise-answer").get_by_test_id("result")
    expect(result).to_have_attribute("data-status", "failed")
    expect(result).to_contain_text("answer is 41; it should be 42.")

    exercise = page.get_by_test_id("exercise-answer")
    exercise.get_by_text("Hint").click()
    expect(exercise.locator("details.hint")).to_contain_text("Assign with =.")
    exercise.get_by_label("Your code").fill("answer = 42\n")
    exercise.get_by_test_id("check").click()
    result = page.get_by_test_id("exercise-answer").get_by_test_id("result")
    expect(result).to_have_attribute("data-status", "passed")
    expect(result).to_contain_text("Correct! Every check passed.")
    expect(result).to_contain_text("2 attempts")

    page.get_by_test_id("complete").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your first tensor")
    page.get_by_role("link", name="Introduction to tensors").first.click()
    progress = page.get_by_test_id("course-progress")
    expect(progress).to_contain_text("1 of 2 lessons complete")
    expect(progress).to_contain_text("Continue: lesson 2")


def test_result_appears_when_the_worker_has_checked_it(live_server, imported, make_user,
                                                      browser_page):
    """Checked in the background: the page shows the check in progress, then the result
    without the learner reloading it."""
    from sqlalchemy import select

    from hub.courses.models import ExerciseResult
    from hub.infra import jobs

    learner = make_user(username="lea")
    hub_db.session().close()
    page = browser_page
    _sign_in(page, live_server.url, learner)
    page.goto(live_server.url + "/courses/intro-fixture/lessons/welcome")
    exercise = page.get_by_test_id("exercise-answer")
    exercise.get_by_label("Your code").fill("answer = 42\n")
    exercise.get_by_test_id("check").click()
    result = page.get_by_test_id("exercise-answer").get_by_test_id("result")
    expect(result).to_have_attribute("data-status", "checking")
    with live_server.app.app_context():
        job_id = hub_db.session().scalar(select(ExerciseResult.job_id))
        hub_db.session().close()  # release the write transaction before the job runs
        jobs.execute(job_id)
    result = page.get_by_test_id("exercise-answer").get_by_test_id("result")
    expect(result).to_have_attribute("data-status", "passed", timeout=15_000)
    expect(result).to_contain_text("Correct! Every check passed.")
