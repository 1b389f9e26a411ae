"""Courses: ordered lessons (notebooks or markdown pages) with auto-checked exercises.

Teachers edit courses in the web UI or import a folder (``course.yaml`` plus lesson files; see
``docs/courses.md``) with ``flask --app app import-course PATH`` or ``skiff course push DIR``.
Learners enroll, mark lessons complete, resume where they left off, and submit exercise answers
that are checked in the sandbox. Each course page shows whether all its notebooks run on the
current framework. ``seed(app)`` imports the bundled ``courses/*/course.yaml`` on first start.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click
from flask import Flask, url_for
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l

log = logging.getLogger("hub.courses")

#: Where the bundled courses live (``courses/<slug>/course.yaml`` in the repository).
BUNDLED_COURSES = Path(__file__).resolve().parents[2] / "courses"
#: The account that owns the bundled courses.
SYSTEM_TEACHER = "skiff-courses"


def init_app(app: Flask) -> None:
    from hub import search
    from hub.accounts.profile import ProfileItem, register_section
    from hub.courses import api  # noqa: F401 - registers the /api/v1/courses endpoints
    from hub.courses.views import bp

    app.register_blueprint(bp)
    search.register_kind("course", _l("Courses"))

    def taught(user, viewer):
        from hub.courses import services

        return [ProfileItem(c.title, url_for("courses.detail", slug=c.slug), c.summary[:200])
                for c in services.courses_taught_by(user) if services.can_view(c, viewer)]

    register_section("courses", _l("Courses taught"), taught, order=10)
    app.cli.add_command(import_course_command)


@click.command("import-course")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--owner", default=None, help="Username of the teacher who owns the course "
              "(default: the system teacher account).")
@click.option("--draft", is_flag=True, help="Import as a draft, whatever course.yaml says.")
@with_appcontext
def import_course_command(path: Path, owner: str | None, draft: bool) -> None:
    """Create or update a course from a folder with a course.yaml."""
    from hub import db
    from hub.accounts.services import find_user
    from hub.courses import services
    from hub.courses.spec import CourseFormatError

    if owner:
        user = find_user(owner)
        if user is None or not user.has_role("teacher"):
            raise click.ClickException(f"{owner} is not a teacher or admin of this hub")
    else:
        user = system_teacher()
        db.session().commit()
    try:
        course = services.import_course(path, user, publish=False if draft else None)
    except CourseFormatError as err:
        problems = "\n  ".join(err.errors)
        raise click.ClickException(f"course.yaml has problems:\n  {problems}") from None
    except services.CourseError as err:
        raise click.ClickException(str(err)) from None
    state = "published" if course.is_published else "draft"
    click.echo(f"imported {course.slug}: {len(course.lessons)} lessons ({state})")


def system_teacher():
    """The teacher account that owns the bundled courses (created, without a usable password,
    when missing; the caller commits)."""
    import secrets

    from hub import db
    from hub.accounts.models import User
    from hub.accounts.services import create_user

    user = db.session().query(User).filter_by(username=SYSTEM_TEACHER).one_or_none()
    if user is None:
        user = create_user(SYSTEM_TEACHER, f"{SYSTEM_TEACHER}@localhost.localdomain",
                           secrets.token_urlsafe(32), display_name="Skiff courses",
                           role="teacher")
        # Nobody signs in as it: the random password is not kept anywhere.
    return user


def seed(app: Flask, folder: Path | None = None) -> list[str]:
    """Import every bundled course (``courses/*/course.yaml``) that is not in the database yet,
    and queue a sandboxed run of each of its notebooks.

    Idempotent: a course whose slug exists is left as it is (teachers may have edited it); a
    broken folder is logged and skipped. Returns the slugs imported.
    """
    from hub import db
    from hub.courses import services
    from hub.courses.spec import CourseFormatError, load_course_folder

    root = folder or BUNDLED_COURSES
    imported = []
    for manifest in sorted(root.glob("*/course.yaml")):
        try:
            spec = load_course_folder(manifest.parent)
        except CourseFormatError as err:
            log.warning("skipping %s: %s", manifest.parent, err)
            continue
        if services.find_course(spec.slug) is not None:
            continue
        teacher = system_teacher()
        db.session().commit()
        try:
            course = services.import_course(manifest.parent, teacher)
        except (CourseFormatError, services.CourseError) as err:
            log.warning("skipping %s: %s", manifest.parent, err)
            continue
        imported.append(course.slug)
        # Prove at once that the lessons run: the job worker started by `make run` picks
        # these runs up, and the course page shows each notebook's result.
        services.check_all_notebooks(services.find_course(course.slug), system_teacher())
    return imported
