"""Fixtures of the course tests: the small fixture course and a teacher who imported it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hub import db as hub_db

FIXTURE_COURSE = Path(__file__).parent / "fixtures" / "intro"


@pytest.fixture
def course_dir(tmp_path) -> Path:
    """A writable copy of the fixture course folder."""
    target = tmp_path / "intro"
    shutil.copytree(FIXTURE_COURSE, target)
    return target


@pytest.fixture
def teacher(make_user):
    return make_user(role="teacher", username="tess")


@pytest.fixture
def imported(app, db, teacher, course_dir):
    """The fixture course imported (published) by ``teacher``; returns its slug."""
    from hub.courses import services

    owner = hub_db.session().merge(teacher)
    course = services.import_course(course_dir, owner)
    return course.slug


def course(slug: str = "intro-fixture"):
    from hub.courses import services

    return services.find_course(slug)
