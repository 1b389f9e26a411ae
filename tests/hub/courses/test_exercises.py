"""Exercise answers are checked in the real sandbox, as jobs: pass, fail with the first failing
check's message, errors, endless loops and memory bombs stopped and reported."""

from __future__ import annotations

import pytest
import yaml

from hub import db as hub_db
from hub.courses import services
from hub.courses.checking import DEFAULT_LIMITS, run_check
from hub.courses.models import ExerciseResult
from hub.infra.models import Job
from hub.infra.sandbox import Limits

from .conftest import course

CHECKS = {"JOBS_IMMEDIATE": True,
          "COURSES_CHECK_LIMITS": {"wall_seconds": 4.0, "cpu_seconds": 3,
                                   "memory_bytes": 512 * 1024 * 1024}}


@pytest.fixture
def app_config(request) -> dict:
    """Jobs run at once, under tight limits, unless a test asks for other settings."""
    return dict(getattr(request, "param", CHECKS))


@pytest.fixture
def course_dir(course_dir):
    """The fixture course without its notebook lesson: jobs run at once here, and rendering a
    notebook is not what these tests are about."""
    data = yaml.safe_load((course_dir / "course.yaml").read_text(encoding="utf-8"))
    data["lessons"] = data["lessons"][:1]
    (course_dir / "course.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return course_dir


URL = "/courses/intro-fixture/lessons/welcome/exercises/{}"


def _result(user, key="answer") -> ExerciseResult:
    hub_db.session().expire_all()
    exercise = next(e for e in course().lessons[0].exercises if e.key == key)
    return services.exercise_results(exercise.lesson, user)[exercise.id]


def _page(client) -> str:
    return client.get("/courses/intro-fixture/lessons/welcome").get_data(as_text=True)


def test_wrong_then_right_answer(client, db, login, imported, make_user):
    learner = make_user(username="lea")
    login(client, learner)
    response = client.post(URL.format("answer"), data={"code": "answer = 41\n"})
    assert response.status_code == 302 and response.location.endswith("#exercise-answer")
    row = _result(learner)
    assert (row.status, row.reason, row.attempts) == ("failed", "check", 1)
    assert row.message == "answer is 41; it should be 42."
    page = _page(client)
    assert "answer is 41; it should be 42." in page and "Not yet" in page
    assert "answer = 41" in page  # the learner's last code is kept in the box

    client.post(URL.format("answer"), data={"code": "print('hello')\nanswer = 6 * 7\n"})
    row = _result(learner)
    assert (row.status, row.attempts, row.ever_passed) == ("passed", 2, True)
    assert row.output == "hello\n"
    page = _page(client)
    assert "Correct! Every check passed." in page and "2 attempts" in page
    job = hub_db.session().get(Job, row.job_id)
    assert job.kind == "course_exercise_check" and job.status == "done"
    # Submitting enrolls the learner and remembers where they are.
    assert services.progress(course(), learner).enrolled


def test_first_failing_check_message_is_shown(client, db, login, imported, make_user):
    learner = make_user(username="lea")
    login(client, learner)
    client.post(URL.format("square"), data={"code": "def square(x):\n    return x * 2\n"})
    assert _result(learner, "square").message == "square(3) should be 9."
    client.post(URL.format("square"), data={"code": "def square(x):\n    return 9\n"})
    assert _result(learner, "square").message == "square(-2) should be 4."


def test_errors_in_the_learners_code_are_explained(client, db, login, imported, make_user):
    learner = make_user(username="lea")
    login(client, learner)
    client.post(URL.format("answer"), data={"code": "answer = (\n"})
    row = _result(learner)
    assert (row.status, row.reason) == ("error", "syntax")
    assert "syntax error on line 1" in _page(client)

    client.post(URL.format("answer"), data={"code": "x = 1\nanswer = 1 / 0\n"})
    row = _result(learner)
    assert (row.reason, row.line) == ("run", 2)
    assert "Your code raised an error on line 2: ZeroDivisionError: division by zero" in \
        _page(client)

    client.post(URL.format("square"), data={"code": "def cube(x):\n    return x ** 3\n"})
    row = _result(learner, "square")
    assert (row.status, row.reason) == ("failed", "check_error")
    assert "NameError" in row.message


def test_endless_loop_is_stopped_and_reported(client, db, login, imported, make_user):
    learner = make_user(username="lea")
    login(client, learner)
    client.post(URL.format("answer"), data={"code": "while True:\n    pass\n"})
    row = _result(learner)
    assert (row.status, row.reason) == ("error", "timeout")
    assert "ran too long and was stopped after" in _page(client)


def test_memory_bomb_is_stopped_and_reported(client, db, login, imported, make_user):
    learner = make_user(username="lea")
    login(client, learner)
    client.post(URL.format("answer"), data={"code": "hog = bytearray(8 * 1024 ** 3)\n"})
    row = _result(learner)
    assert (row.status, row.reason) == ("error", "memory")
    assert "used more memory than allowed" in _page(client)


def test_exit_before_report_is_an_error(app, db):
    with app.test_request_context():
        outcome = run_check("import os\nos._exit(3)\n", "assert True",
                            limits=Limits(wall_seconds=10, cpu_seconds=5))
    assert (outcome.status, outcome.reason, outcome.message) == ("error", "no_report", "3")


def test_learner_code_cannot_read_the_hub(app, db):
    code = f"import os\nseen = os.path.exists({app.instance_path!r})\n"
    with app.test_request_context():
        outcome = run_check(code, "assert not seen, 'the instance folder is visible'",
                            limits=Limits(wall_seconds=10, cpu_seconds=5))
    assert outcome.status == "passed", outcome.message


def test_empty_answer_is_refused(client, db, login, imported, make_user):
    learner = make_user(username="lea")
    login(client, learner)
    client.post(URL.format("answer"), data={"code": "   "})
    assert "Write some code first." in _page(client)
    assert hub_db.session().query(ExerciseResult).count() == 0


def test_anonymous_visitors_cannot_submit(client, imported):
    response = client.post(URL.format("answer"), data={"code": "answer = 42"})
    assert response.status_code == 302 and "/login" in response.location
    assert "Sign in to check your answers." in _page(client)


@pytest.mark.parametrize("app_config", [{}], indirect=True)
def test_answer_is_checked_by_the_background_worker(client, db, login, imported, make_user):
    """Without immediate jobs: the page shows the check in progress until the worker ran it."""
    from hub.infra import jobs

    learner = make_user(username="lea")
    login(client, learner)
    client.post(URL.format("answer"), data={"code": "answer = 42\n"})
    row = _result(learner)
    assert row.status == "checking" and row.job_id
    page = _page(client)
    assert "Checking your answer…" in page and f'data-job-url="/jobs/{row.job_id}.json"' in page
    jobs.execute(row.job_id)
    assert _result(learner).status == "passed"
    assert "Correct! Every check passed." in _page(client)


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "JOBS_IMMEDIATE": True,
                                         "COURSES_CHECK_RATE": "2/minute"}], indirect=True)
def test_answers_are_rate_limited(client, db, login, imported, make_user):
    login(client, make_user(username="lea"))
    codes = [client.post(URL.format("answer"), data={"code": "answer = 1"}).status_code
             for _ in range(3)]
    assert codes == [302, 302, 429]


def _bundled_exercises() -> list:
    from hub.courses import BUNDLED_COURSES
    from hub.courses.spec import CourseFormatError, load_course_folder

    params = []
    for manifest in sorted(BUNDLED_COURSES.glob("*/course.yaml")):
        try:
            spec = load_course_folder(manifest.parent)
        except CourseFormatError:
            continue  # test_import.test_bundled_courses_are_valid reports it
        params += [pytest.param(exercise, id=f"{spec.slug}/{lesson.slug}/{exercise.key}")
                   for lesson in spec.lessons for exercise in lesson.exercises]
    return params


@pytest.mark.slow
@pytest.mark.parametrize("exercise", _bundled_exercises())
def test_bundled_solutions_pass_in_the_hub_sandbox(exercise):
    """Each bundled exercise's solution passes its checks under the hub's real sandbox and
    default limits, exactly as a learner's answer is checked."""
    outcome = run_check(exercise.solution, exercise.checks, limits=Limits(**DEFAULT_LIMITS))
    assert outcome.status == "passed", (outcome.reason, outcome.message, outcome.output)


def test_result_is_explained_in_the_readers_language(client, db, login, imported, make_user):
    learner = make_user(username="lea")
    exercise = course().lessons[0].exercises[0]
    hub_db.session().add(ExerciseResult(exercise_id=exercise.id, user_id=learner.id, attempts=1,
                                        status="error", reason="timeout", message="30",
                                        code="while True: pass"))
    hub_db.session().commit()
    login(client, learner)
    client.set_cookie("skiff_lang", "zh")
    page = _page(client)
    assert "你的代码运行时间过长，30 秒后被停止。" in page and "1 次尝试" in page
