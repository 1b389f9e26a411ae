"""Course services (no HTTP here): editing, importing, enrolling, progress, exercises and the
"do all notebooks run" status. The web views, the API, the CLI and the jobs call these.

Example::

    from hub.courses import services as courses

    course = courses.import_course(Path("courses/deep-learning-from-zero"), teacher)
    courses.enroll(course, learner)
    courses.mark_complete(course.lessons[0], learner)
    result = courses.submit_answer(course.lessons[0].exercises[0], learner, "x = 42")
    courses.progress(course, learner)   # Progress(done=1, total=8, percent=12, ...)

Functions that change data add to the session and leave the commit to the caller, except where
they say otherwise (importing and answer checking commit, because they queue jobs).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import markdown_it
import nh3
from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import func, select

from hub import audit, db, search
from hub.courses.models import (
    Course,
    Enrollment,
    Exercise,
    ExerciseResult,
    Lesson,
    LessonCompletion,
)
from hub.courses.spec import SLUG_RE, CourseFormatError, load_course_folder
from hub.db import utcnow

#: The job kind that checks an exercise answer in the sandbox.
CHECK_JOB = "course_exercise_check"
MAX_ANSWER = 100_000


class CourseError(ValueError):
    """A request about a course that cannot be done; ``str(error)`` says why to people.

    ``status`` is the HTTP status the API answers with.
    """

    def __init__(self, message: str, status: int = 400, code: str = "invalid_course"):
        super().__init__(message)
        self.status = status
        self.code = code


# --- showing ---------------------------------------------------------------------------------

_md = markdown_it.MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

_ALLOWED_TAGS = {
    "a", "p", "br", "hr", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "img",
    "del", "s",
}


def render_markdown(text: str) -> Markup:
    """Markdown written by a teacher as sanitized HTML (no scripts, handlers or bad URLs).

    The one place course text becomes markup: raw HTML in the markdown is escaped by
    markdown-it, and nh3 keeps only the tags, attributes and URL schemes listed here. Headings
    move one level down (``#`` becomes ``<h2>``), below the page's own title.
    """
    tokens = _md.parse(text or "")
    for token in tokens:
        # The page has its own <h1>: the text's headings start one level below it.
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + 1)}"
    html = _md.renderer.render(tokens, _md.options, {})
    return Markup(nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "img": {"src", "alt", "title"},
                    "th": {"align"}, "td": {"align"}, "code": {"class"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    ))


def can_edit(course: Course | None, user: Any) -> bool:
    """True if ``user`` may change ``course``: its teacher, or an admin."""
    if course is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_admin or (course.owner_id == user.id and user.has_role("teacher")))


def can_view(course: Course | None, user: Any) -> bool:
    """Published courses are seen by everyone; drafts only by their teacher and admins."""
    if course is None:
        return False
    return course.is_published or can_edit(course, user)


def find_course(slug: str) -> Course | None:
    return db.session().scalar(select(Course).where(Course.slug == (slug or "").lower()))


def published_courses() -> list[Course]:
    """Published courses, newest first."""
    return list(db.session().scalars(
        select(Course).where(Course.is_published.is_(True))
        .order_by(Course.updated_at.desc(), Course.id.desc())))


def courses_taught_by(user: Any) -> list[Course]:
    """Every course ``user`` owns (drafts too), newest first."""
    return list(db.session().scalars(
        select(Course).where(Course.owner_id == user.id)
        .order_by(Course.updated_at.desc(), Course.id.desc())))


def find_lesson(course: Course, slug: str) -> Lesson | None:
    return next((lesson for lesson in course.lessons if lesson.slug == slug), None)


def course_url(course: Course) -> str:
    return url_for("courses.detail", slug=course.slug)


def reindex(course: Course) -> None:
    """Update the course's site-search entry (visible while published)."""
    description = "\n".join(x for x in (course.summary, course.title_zh, course.summary_zh,
                                        *(lesson.title for lesson in course.lessons)) if x)
    search.index("course", course.id, title=course.title, url=course_url(course),
                 description=description, visible=course.is_published)


# --- editing in the web UI -------------------------------------------------------------------


def _clean_slug(slug: str) -> str:
    slug = (slug or "").strip().lower()
    if not SLUG_RE.match(slug):
        raise CourseError(_("A slug is lower-case letters, digits and dashes, starting with a "
                            "letter or digit (at most 80)."))
    return slug


def _clean_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise CourseError(_("A title is required."))
    if len(title) > 200:
        raise CourseError(_("A title may have at most 200 characters."))
    return title


def create_course(owner: Any, *, slug: str, title: str, title_zh: str = "", summary: str = "",
                  summary_zh: str = "") -> Course:
    """Start a draft course for a teacher (the caller commits)."""
    slug = _clean_slug(slug)
    if find_course(slug) is not None:
        raise CourseError(_("A course with that slug already exists."), 409, "conflict")
    course = Course(slug=slug, owner_id=owner.id, owner=owner, title=_clean_title(title),
                    title_zh=(title_zh or "").strip()[:200], summary=(summary or "").strip(),
                    summary_zh=(summary_zh or "").strip(), is_published=False)
    db.session().add(course)
    db.session().flush()
    audit.record("course.create", target=f"course:{course.id}", actor=owner,
                 details={"slug": slug})
    reindex(course)
    return course


def update_course(course: Course, *, title: str, title_zh: str = "", summary: str = "",
                  summary_zh: str = "", published: bool | None = None) -> Course:
    """Change a course's titles, summaries and, if given, whether it is published."""
    course.title = _clean_title(title)
    course.title_zh = (title_zh or "").strip()[:200]
    course.summary = (summary or "").strip()
    course.summary_zh = (summary_zh or "").strip()
    if published is not None:
        set_published(course, published)
    course.updated_at = utcnow()
    reindex(course)
    return course


def set_published(course: Course, published: bool) -> None:
    """Publish a course or take it back to draft; its notebooks' visibility follows."""
    from hub.notebooks import services as notebooks

    course.is_published = bool(published)
    for lesson in course.lessons:
        if lesson.notebook is not None and lesson.notebook.owner_id == course.owner_id:
            lesson.notebook.is_public = course.is_published
            notebooks.reindex(lesson.notebook)
    course.updated_at = utcnow()
    reindex(course)


def _renumber(course: Course) -> None:
    for position, lesson in enumerate(course.lessons, start=1):
        lesson.position = position


def _unique_lesson_slug(course: Course, title: str) -> str:
    from hub.notebooks.services import slugify

    base = slugify(title, default="lesson")[:70].strip("-") or "lesson"
    taken = {lesson.slug for lesson in course.lessons}
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def add_markdown_lesson(course: Course, *, title: str, body: str = "",
                        title_zh: str = "") -> Lesson:
    """Append a markdown page to a course (the caller commits)."""
    title = _clean_title(title)
    lesson = Lesson(slug=_unique_lesson_slug(course, title), title=title,
                    title_zh=(title_zh or "").strip()[:200], kind="markdown", body=body or "",
                    position=len(course.lessons) + 1)
    course.lessons.append(lesson)
    course.updated_at = utcnow()
    db.session().flush()
    reindex(course)
    return lesson


def add_notebook_lesson(course: Course, *, title: str, notebook_source: Any,
                        title_zh: str = "", by: Any = None) -> Lesson:
    """Append a notebook lesson from ``.ipynb`` bytes, a path or a stream (stored through the
    notebooks feature as the course teacher's notebook; the caller commits)."""
    from hub.notebooks import services as notebooks

    title = _clean_title(title)
    slug = _unique_lesson_slug(course, title)
    try:
        version = notebooks.import_notebook(
            course.owner, notebook_source, title=title, slug=f"{course.slug}-{slug}"[:100],
            is_public=course.is_published, render=False, tags=["course"])
    except notebooks.NotebookError as err:
        raise CourseError(str(err), getattr(err, "status", 400)) from None
    lesson = Lesson(slug=slug, title=title, title_zh=(title_zh or "").strip()[:200],
                    kind="notebook", notebook_id=version.notebook_id,
                    position=len(course.lessons) + 1)
    course.lessons.append(lesson)
    course.updated_at = utcnow()
    db.session().flush()
    reindex(course)
    return lesson


def update_lesson(lesson: Lesson, *, title: str, title_zh: str = "",
                  body: str | None = None) -> Lesson:
    """Change a lesson's titles and (for a markdown page) its text."""
    lesson.title = _clean_title(title)
    lesson.title_zh = (title_zh or "").strip()[:200]
    if body is not None and lesson.kind == "markdown":
        lesson.body = body
    lesson.updated_at = utcnow()
    lesson.course.updated_at = utcnow()
    reindex(lesson.course)
    return lesson


def move_lesson(lesson: Lesson, offset: int) -> None:
    """Move a lesson up (``-1``) or down (``+1``) in its course."""
    course = lesson.course
    order = list(course.lessons)
    i = order.index(lesson)
    j = max(0, min(len(order) - 1, i + offset))
    if i == j:
        return
    order.insert(j, order.pop(i))
    for position, item in enumerate(order, start=1):
        item.position = position
    course.lessons.sort(key=lambda item: item.position)
    course.updated_at = utcnow()


def remove_lesson(lesson: Lesson) -> None:
    """Delete a lesson with its exercises and learners' results (the notebook stays)."""
    course = lesson.course
    course.lessons.remove(lesson)
    db.session().delete(lesson)
    _renumber(course)
    course.updated_at = utcnow()
    reindex(course)


# --- importing a folder ----------------------------------------------------------------------


def import_course(folder: str | Path, owner: Any, *, publish: bool | None = None) -> Course:
    """Create or update a course from ``folder`` (``course.yaml`` plus lesson files).

    Everything is validated first (:class:`~hub.courses.spec.CourseFormatError` lists every
    problem, and nothing is stored). An existing course with the same slug is updated in place:
    lessons are matched by slug and exercises by id, so learners keep their progress; notebook
    lessons get a new notebook version when their file changed; lessons no longer listed are
    removed. Commits, then queues renders of new notebook versions.
    """
    if not has_request_context():
        # Search entries and notebook pages need URLs; a CLI command or seed has no request.
        with current_app.test_request_context("/"):
            return import_course(folder, owner, publish=publish)
    spec = load_course_folder(folder)
    session = db.session()
    course = find_course(spec.slug)
    if course is not None and course.owner_id != owner.id and not owner.is_admin:
        raise CourseError(_("The course %(slug)s belongs to another teacher.", slug=spec.slug),
                          403, "forbidden")
    published = spec.published if publish is None else publish
    created = course is None
    new_versions = []
    try:
        if created:
            course = Course(slug=spec.slug, owner_id=owner.id, owner=owner, title=spec.title)
            session.add(course)
        course.title, course.title_zh = spec.title, spec.title_zh
        course.summary, course.summary_zh = spec.summary, spec.summary_zh
        course.is_published = published
        course.updated_at = utcnow()
        existing = {lesson.slug: lesson for lesson in course.lessons}
        keep = []
        for position, item in enumerate(spec.lessons, start=1):
            lesson = existing.pop(item.slug, None)
            if lesson is None:
                lesson = Lesson(slug=item.slug)
            lesson.position = position
            lesson.title, lesson.title_zh, lesson.kind = item.title, item.title_zh, item.kind
            lesson.updated_at = utcnow()
            if item.kind == "notebook":
                version = _import_lesson_notebook(course, item, published)
                if version.render_state == "pending":
                    new_versions.append(version)
                lesson.notebook_id = version.notebook_id
                lesson.body = ""
            else:
                lesson.body, lesson.notebook_id = item.body, None
            _sync_exercises(lesson, item.exercises)
            keep.append(lesson)
        for gone in existing.values():
            session.delete(gone)
        course.lessons = keep
        session.flush()
        reindex(course)
        audit.record("course.import", target=f"course:{course.id}", actor=owner,
                     details={"slug": course.slug, "lessons": len(keep), "created": created})
        session.commit()
    except Exception:
        session.rollback()
        raise
    _queue_renders(new_versions)
    return course


def _import_lesson_notebook(course: Course, item, published: bool):
    import hashlib

    from hub.notebooks import services as notebooks
    from hub.notebooks.models import Notebook

    slug = f"{course.slug}-{item.slug}"[:100]
    existing = db.session().scalar(select(Notebook).where(Notebook.owner_id == course.owner_id,
                                                          Notebook.slug == slug))
    if existing is not None:
        # The newest *uploaded* version: after a run the newest one is the executed copy,
        # whose bytes differ from the file although the lesson did not change.
        uploaded = next((v for v in reversed(existing.versions) if v.source == "upload"), None)
        if uploaded is not None and uploaded.digest == hashlib.sha256(
                item.notebook_bytes).hexdigest():
            existing.is_public = published
            notebooks.reindex(existing)
            return uploaded
    try:
        return notebooks.import_notebook(
            course.owner, item.notebook_bytes, title=item.title, slug=slug,
            is_public=published, render=False, tags=["course"])
    except notebooks.NotebookError as err:
        raise CourseFormatError([f"{item.notebook_file}: {err}"]) from None


def _sync_exercises(lesson: Lesson, items) -> None:
    existing = {exercise.key: exercise for exercise in lesson.exercises}
    keep = []
    for position, item in enumerate(items, start=1):
        exercise = existing.pop(item.key, None) or Exercise(key=item.key)
        exercise.position = position
        exercise.prompt, exercise.starter, exercise.checks = item.prompt, item.starter, item.checks
        exercise.hint, exercise.solution = item.hint, item.solution
        keep.append(exercise)
    for gone in existing.values():
        db.session().delete(gone)
    lesson.exercises = keep


def queue_notebook_render(lesson: Lesson) -> None:
    """Render a notebook lesson's newest version in the background (after a commit)."""
    if lesson.notebook is not None and lesson.notebook.latest_version is not None:
        version = lesson.notebook.latest_version
        if version.render_state == "pending":
            _queue_renders([version])


def _queue_renders(versions) -> None:
    """Render new notebook versions in the background, when the notebooks feature can."""
    from hub.infra import jobs

    if "notebook_render" not in jobs.TASKS:
        return
    from hub.notebooks import services as notebooks

    for version in versions:
        notebooks.request_render(version)


# --- learners --------------------------------------------------------------------------------


@dataclass
class Progress:
    """A learner's progress in one course."""

    enrolled: bool
    done: int
    total: int
    completed_ids: set[int]
    #: The lesson to continue with (where they left off, or the first not yet complete).
    resume: Lesson | None

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def enrollment(course: Course, user: Any) -> Enrollment | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session().scalar(select(Enrollment).where(Enrollment.course_id == course.id,
                                                        Enrollment.user_id == user.id))


def enroll(course: Course, user: Any) -> Enrollment:
    """Enroll ``user`` in a published course (idempotent; the caller commits)."""
    if not course.is_published and not can_edit(course, user):
        raise CourseError(_("This course is not published."), 404, "not_found")
    row = enrollment(course, user)
    if row is None:
        row = Enrollment(course_id=course.id, user_id=user.id)
        db.session().add(row)
        db.session().flush()
    return row


def completed_lesson_ids(course: Course, user: Any) -> set[int]:
    if not getattr(user, "is_authenticated", False):
        return set()
    ids = [lesson.id for lesson in course.lessons]
    if not ids:
        return set()
    return set(db.session().scalars(select(LessonCompletion.lesson_id).where(
        LessonCompletion.user_id == user.id, LessonCompletion.lesson_id.in_(ids))))


def progress(course: Course, user: Any) -> Progress:
    """How far ``user`` is in ``course`` and which lesson to continue with."""
    row = enrollment(course, user)
    done_ids = completed_lesson_ids(course, user)
    lessons = list(course.lessons)
    resume = None
    if row is not None and lessons:
        last = next((lesson for lesson in lessons if lesson.id == row.last_lesson_id), None)
        if last is not None and last.id not in done_ids:
            resume = last
        else:
            start = lessons.index(last) if last is not None else 0
            resume = next((lesson for lesson in lessons[start:] + lessons[:start]
                           if lesson.id not in done_ids), last or lessons[0])
    return Progress(enrolled=row is not None, done=len(done_ids), total=len(lessons),
                    completed_ids=done_ids, resume=resume)


def progress_by_course(user: Any, courses: list[Course]) -> dict[int, Progress]:
    """Progress of ``user`` in each course they are enrolled in (for the course list)."""
    if not getattr(user, "is_authenticated", False) or not courses:
        return {}
    enrolled = set(db.session().scalars(select(Enrollment.course_id).where(
        Enrollment.user_id == user.id, Enrollment.course_id.in_([c.id for c in courses]))))
    return {c.id: progress(c, user) for c in courses if c.id in enrolled}


def visit_lesson(lesson: Lesson, user: Any) -> None:
    """Remember that an enrolled learner opened ``lesson`` (where they resume next time)."""
    row = enrollment(lesson.course, user)
    if row is not None and row.last_lesson_id != lesson.id:
        row.last_lesson_id = lesson.id
        row.updated_at = utcnow()


def mark_complete(lesson: Lesson, user: Any, complete: bool = True) -> None:
    """Mark a lesson complete (enrolling the learner if needed), or not complete again."""
    enroll(lesson.course, user)
    session = db.session()
    row = session.scalar(select(LessonCompletion).where(
        LessonCompletion.lesson_id == lesson.id, LessonCompletion.user_id == user.id))
    if complete and row is None:
        session.add(LessonCompletion(lesson_id=lesson.id, user_id=user.id))
    elif not complete and row is not None:
        session.delete(row)
    visit_lesson(lesson, user)
    session.flush()


def enrolled_count(course: Course) -> int:
    return db.session().scalar(select(func.count()).select_from(Enrollment)
                               .where(Enrollment.course_id == course.id)) or 0


# --- exercises -------------------------------------------------------------------------------


def exercise_results(lesson: Lesson, user: Any) -> dict[int, ExerciseResult]:
    """``user``'s results for the exercises of ``lesson``, by exercise id."""
    ids = [exercise.id for exercise in lesson.exercises]
    if not ids or not getattr(user, "is_authenticated", False):
        return {}
    rows = db.session().scalars(select(ExerciseResult).where(
        ExerciseResult.user_id == user.id, ExerciseResult.exercise_id.in_(ids)))
    return {row.exercise_id: row for row in rows}


def submit_answer(exercise: Exercise, user: Any, code: str) -> ExerciseResult:
    """Check ``code`` against the exercise in the sandbox, as a background job.

    The learner is enrolled if needed; their result row counts the attempt and shows
    ``checking`` until the job writes the outcome. Commits (the job must see the row).
    """
    code = (code or "").replace("\r\n", "\n")
    if not code.strip():
        raise CourseError(_("Write some code first."))
    if len(code) > MAX_ANSWER:
        raise CourseError(_("An answer may have at most %(n)s characters.", n=MAX_ANSWER), 413,
                          "too_large")
    from hub.infra import jobs

    session = db.session()
    enroll(exercise.lesson.course, user)
    visit_lesson(exercise.lesson, user)
    row = session.scalar(select(ExerciseResult).where(
        ExerciseResult.exercise_id == exercise.id, ExerciseResult.user_id == user.id))
    if row is None:
        row = ExerciseResult(exercise_id=exercise.id, user_id=user.id, attempts=0)
        session.add(row)
    row.attempts = (row.attempts or 0) + 1
    row.code, row.status, row.reason, row.message, row.output = code, "checking", "", "", ""
    row.line = None
    row.updated_at = utcnow()
    session.commit()
    row_id, attempt = row.id, row.attempts
    job = jobs.enqueue(CHECK_JOB, {"result_id": row_id, "attempt": attempt}, owner=user)
    row = session.get(ExerciseResult, row_id)
    session.refresh(row)
    if row.attempts == attempt and row.job_id is None:
        row.job_id = job.id
    session.commit()
    return row


def record_check(result_id: int, attempt: int, outcome) -> bool:
    """Store a :class:`~hub.courses.checking.CheckOutcome` (ignored when a newer attempt was
    submitted since). Commits."""
    session = db.session()
    row = session.get(ExerciseResult, result_id)
    if row is None or row.attempts != attempt:
        return False
    row.status, row.reason = outcome.status, outcome.reason
    row.message, row.line, row.output = outcome.message, outcome.line, outcome.output
    row.ever_passed = row.ever_passed or outcome.status == "passed"
    row.updated_at = utcnow()
    session.commit()
    return True


def result_message(row: ExerciseResult) -> str:
    """What the learner reads about their latest answer, in the current language."""
    from hub.courses.checking import describe

    return describe(row.status, row.reason, row.message, row.line)


# --- do the notebooks run? -------------------------------------------------------------------


@dataclass
class NotebookStatus:
    """Whether every notebook lesson of a course runs on the current framework.

    ``state`` is ``passed`` (all ran, on this framework version), ``failed`` (one or more
    failed or timed out), ``pending`` (some not checked yet, stale, or running) or ``none`` (no
    notebook lessons). ``lessons`` pairs each notebook lesson with its latest run (or None).
    """

    state: str
    framework_version: str
    lessons: list[tuple[Lesson, Any]]
    passed: int
    failed: int
    total: int


def current_framework_version() -> str:
    import framework

    return str(getattr(framework, "__version__", ""))


def notebook_status(course: Course) -> NotebookStatus:
    """Aggregate the notebooks feature's latest run of each notebook lesson."""
    from hub.notebooks import services as notebooks

    version = current_framework_version()
    rows = []
    passed = failed = 0
    stale = False
    for lesson in course.lessons:
        if lesson.kind != "notebook" or lesson.notebook is None:
            continue
        run = notebooks.latest_run(lesson.notebook)
        if run is not None and not run.finished:
            # A run in progress: show the last outcome meanwhile, but the state is pending.
            stale = True
            run = notebooks.latest_finished_run(lesson.notebook) or run
        rows.append((lesson, run))
        if run is None or not run.finished:
            stale = True
        elif run.status == "passed":
            if run.framework_version and run.framework_version != version:
                stale = True
            else:
                passed += 1
        else:
            failed += 1
    total = len(rows)
    if not total:
        state = "none"
    elif failed:
        state = "failed"
    elif stale or passed < total:
        state = "pending"
    else:
        state = "passed"
    return NotebookStatus(state, version, rows, passed, failed, total)


def check_all_notebooks(course: Course, by: Any) -> int:
    """Queue a sandboxed run of the newest version of every notebook lesson; how many."""
    from hub.notebooks import services as notebooks

    count = 0
    for lesson in course.lessons:
        notebook = lesson.notebook if lesson.kind == "notebook" else None
        if notebook is None:
            continue
        version = next((v for v in reversed(notebook.versions) if v.source == "upload"), None)
        version = version or notebook.latest_version
        if version is not None:
            notebooks.request_run(version, requested_by=by)
            count += 1
    audit.record("course.check_notebooks", target=f"course:{course.id}", actor=by,
                 details={"runs": count})
    db.session().commit()
    return count
