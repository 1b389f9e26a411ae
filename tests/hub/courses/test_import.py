"""Importing a course folder: created in one piece, updated in place, progress kept; the seed
and the import-course command."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import func, select

from hub import db as hub_db
from hub.courses import BUNDLED_COURSES, services
from hub.courses.models import Course, Exercise, ExerciseResult, Lesson, LessonCompletion
from hub.courses.spec import CourseFormatError, load_course_folder
from hub.notebooks.models import Notebook, NotebookVersion

from .conftest import course


def _count(model) -> int:
    return hub_db.session().scalar(select(func.count()).select_from(model))


def test_import_creates_course_lessons_exercises_and_notebook(imported, teacher):
    c = course()
    assert c.title == "Introduction to tensors" and c.title_zh == "张量入门"
    assert c.is_published and c.owner_id == teacher.id
    assert [(lesson.position, lesson.slug, lesson.kind) for lesson in c.lessons] == [
        (1, "welcome", "markdown"), (2, "first-tensor", "notebook")]
    assert [e.key for e in c.lessons[0].exercises] == ["answer", "square"]
    notebook = c.lessons[1].notebook
    assert notebook.owner_id == teacher.id and notebook.slug == "intro-fixture-first-tensor"
    assert len(notebook.versions) == 1 and notebook.is_public


def test_reimport_updates_in_place_and_keeps_progress(imported, course_dir, teacher,
                                                       make_user):
    learner = hub_db.session().merge(make_user(username="lea"))
    c = course()
    welcome, notebook_lesson = c.lessons
    services.mark_complete(welcome, learner)
    hub_db.session().commit()
    first_version = notebook_lesson.notebook.latest_version.id

    data = yaml.safe_load((course_dir / "course.yaml").read_text(encoding="utf-8"))
    data["title"] = "Tensors, revised"
    data["lessons"][0]["exercises"][0]["hint"] = "A new hint."
    data["lessons"].reverse()
    data["lessons"].append({"slug": "extra", "title": "Extra", "markdown": "welcome.md"})
    (course_dir / "course.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    nb = (course_dir / "first-tensor.ipynb").read_text(encoding="utf-8")
    (course_dir / "first-tensor.ipynb").write_text(nb.replace("x.sum()", "x.max()"),
                                                   encoding="utf-8")
    services.import_course(course_dir, hub_db.session().merge(teacher))

    c = course()
    assert c.title == "Tensors, revised"
    assert [lesson.slug for lesson in c.lessons] == ["first-tensor", "welcome", "extra"]
    assert [lesson.position for lesson in c.lessons] == [1, 2, 3]
    assert c.lessons[1].id == welcome.id  # same row: learners' progress stays attached
    assert c.lessons[1].exercises[0].hint == "A new hint."
    assert services.progress(c, learner).completed_ids == {welcome.id}
    versions = c.lessons[0].notebook.versions
    assert len(versions) == 2 and versions[0].id == first_version
    assert _count(Course) == 1 and _count(Notebook) == 1


def test_reimport_of_identical_folder_adds_no_notebook_version(imported, course_dir, teacher):
    services.import_course(course_dir, hub_db.session().merge(teacher))
    assert _count(NotebookVersion) == 1 and _count(Lesson) == 2 and _count(Exercise) == 2
    # Not even after a run added an executed copy as the newest version.
    notebook = course().lessons[1].notebook
    hub_db.session().add(NotebookVersion(notebook_id=notebook.id, number=2, digest="0" * 64,
                                         size=1, source="run"))
    hub_db.session().commit()
    services.import_course(course_dir, hub_db.session().merge(teacher))
    assert _count(NotebookVersion) == 2


def test_failed_import_stores_nothing(app, db, teacher, course_dir):
    data = yaml.safe_load((course_dir / "course.yaml").read_text(encoding="utf-8"))
    data["lessons"][1]["exercises"] = [{"id": "bad", "prompt": "p", "check": "def ("}]
    (course_dir / "course.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(CourseFormatError) as info:
        services.import_course(course_dir, hub_db.session().merge(teacher))
    assert "lessons[1].exercises[0].check: is not valid Python" in str(info.value)
    assert _count(Course) == 0 and _count(Lesson) == 0 and _count(Notebook) == 0


def test_another_teachers_course_cannot_be_overwritten(imported, course_dir, make_user):
    other = hub_db.session().merge(make_user(role="teacher", username="otto"))
    with pytest.raises(services.CourseError) as info:
        services.import_course(course_dir, other)
    assert info.value.status == 403
    assert course().owner.username == "tess"


def test_removed_lesson_takes_its_results_with_it(imported, course_dir, teacher, make_user):
    learner = hub_db.session().merge(make_user(username="lea"))
    welcome = course().lessons[0]
    services.mark_complete(welcome, learner)
    hub_db.session().add(ExerciseResult(exercise_id=welcome.exercises[0].id, user_id=learner.id,
                                        attempts=1, status="passed", reason="passed"))
    hub_db.session().commit()
    data = yaml.safe_load((course_dir / "course.yaml").read_text(encoding="utf-8"))
    data["lessons"] = data["lessons"][1:]
    (course_dir / "course.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    services.import_course(course_dir, hub_db.session().merge(teacher))
    hub_db.session().expire_all()
    assert [lesson.slug for lesson in course().lessons] == ["first-tensor"]
    assert _count(ExerciseResult) == 0 and _count(LessonCompletion) == 0


def test_seed_imports_bundled_courses_once(app, db, tmp_path, course_dir):
    from hub.courses import SYSTEM_TEACHER, seed
    from hub.infra.models import Job

    assert seed(app, folder=course_dir.parent) == ["intro-fixture"]
    assert course().owner.username == SYSTEM_TEACHER and course().owner.role == "teacher"
    notebook_lessons = [lesson for lesson in course().lessons if lesson.kind == "notebook"]
    runs = hub_db.session().scalars(select(Job).where(Job.kind == "notebook_run")).all()
    assert notebook_lessons and len(runs) == len(notebook_lessons)
    assert seed(app, folder=course_dir.parent) == []
    assert _count(Course) == 1


def test_seed_skips_a_broken_folder(app, db, tmp_path, course_dir):
    from hub.courses import seed

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "course.yaml").write_text("slug: x\n", encoding="utf-8")
    assert seed(app, folder=tmp_path) == ["intro-fixture"]


def test_setup_site_seeds_the_course_catalogue(app):
    from hub.setup_site import seed_steps

    assert "courses" in [name for name, _ in seed_steps()]


def test_import_course_command(app, teacher, course_dir):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-course", str(course_dir), "--owner", "tess",
                                 "--draft"])
    assert result.exit_code == 0, result.output
    assert "imported intro-fixture: 2 lessons (draft)" in result.output
    with app.app_context():
        assert course().is_published is False

    (course_dir / "course.yaml").write_text("slug: x\ntitle: X\nlessons: 3\n", encoding="utf-8")
    result = runner.invoke(args=["import-course", str(course_dir), "--owner", "tess"])
    assert result.exit_code != 0
    assert "lessons: must be a non-empty list of lessons" in result.output


def test_import_command_refuses_non_teachers(app, make_user, course_dir):
    make_user(username="mia")
    result = app.test_cli_runner().invoke(args=["import-course", str(course_dir), "--owner",
                                                "mia"])
    assert result.exit_code != 0 and "not a teacher" in result.output


@pytest.mark.parametrize("folder", sorted(p.parent for p in BUNDLED_COURSES.glob("*/course.yaml")),
                         ids=lambda p: p.name)
def test_bundled_courses_are_valid(app, folder):
    """What ``make run`` imports must pass validation (the seed skips a broken folder)."""
    with app.app_context():
        spec = load_course_folder(folder)
    assert spec.lessons and spec.title and spec.title_zh
