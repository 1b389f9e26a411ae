"""Course pages: the catalogue, a course, its lessons and exercises, and the teacher's editor."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from hub import db
from hub.courses import services
from hub.courses.models import Course, Lesson
from hub.courses.spec import CourseFormatError
from hub.security import limit_uploads, limiter, role_required

bp = Blueprint("courses", __name__, url_prefix="/courses")

#: Each answer starts a sandboxed process: one shared limit for the web form and the API.
limit_checks = limiter.shared_limit(
    lambda: current_app.config.get("COURSES_CHECK_RATE", "30/minute"), scope="exercise-checks",
    methods=["POST"])


def _course_or_404(slug: str) -> Course:
    course = services.find_course(slug)
    if not services.can_view(course, current_user):
        abort(404)
    return course


def _editable_or_404(slug: str) -> Course:
    """The course if the current user may edit it; 404 for drafts they cannot see, 403 for
    published courses of another teacher."""
    course = _course_or_404(slug)
    if not services.can_edit(course, current_user):
        abort(403)
    return course


def _lesson_or_404(course: Course, lesson_slug: str) -> Lesson:
    lesson = services.find_lesson(course, lesson_slug)
    if lesson is None:
        abort(404)
    return lesson


def _fail(err: Exception) -> None:
    db.session().rollback()
    if isinstance(err, CourseFormatError):
        flash(_("The course could not be imported: %(errors)s", errors="; ".join(err.errors)),
              "error")
    else:
        flash(str(err), "error")


@bp.get("")
def index():
    courses = services.published_courses()
    mine = []
    if current_user.is_authenticated and current_user.has_role("teacher"):
        mine = [c for c in services.courses_taught_by(current_user) if not c.is_published]
    progress = services.progress_by_course(current_user, courses)
    return render_template("courses/index.html", courses=courses, drafts=mine,
                           progress=progress)


@bp.route("/new", methods=["GET", "POST"])
@role_required("teacher")
def new():
    form = request.form
    if request.method == "POST":
        try:
            course = services.create_course(
                current_user, slug=form.get("slug", ""), title=form.get("title", ""),
                title_zh=form.get("title_zh", ""), summary=form.get("summary", ""),
                summary_zh=form.get("summary_zh", ""))
        except services.CourseError as err:
            _fail(err)
        else:
            db.session().commit()
            flash(_("Course created as a draft. Add lessons, then publish it."), "success")
            return redirect(url_for("courses.edit", slug=course.slug))
    return render_template("courses/new.html", form=form)


@bp.get("/<slug>")
def detail(slug: str):
    course = _course_or_404(slug)
    return render_template(
        "courses/detail.html", course=course,
        progress=services.progress(course, current_user),
        status=services.notebook_status(course),
        can_edit=services.can_edit(course, current_user),
        enrolled_count=services.enrolled_count(course),
    )


@bp.post("/<slug>/enroll")
@login_required
def enroll(slug: str):
    course = _course_or_404(slug)
    services.enroll(course, current_user)
    db.session().commit()
    flash(_("You are enrolled. Enjoy the course!"), "success")
    return redirect(url_for("courses.detail", slug=course.slug))


@bp.post("/<slug>/check-notebooks")
@login_required
def check_notebooks(slug: str):
    course = _editable_or_404(slug)
    count = services.check_all_notebooks(course, current_user)
    flash(_("%(n)s notebook runs queued.", n=count), "success")
    return redirect(url_for("courses.detail", slug=course.slug))


# --- lessons ---------------------------------------------------------------------------------


def _notebook_view(lesson: Lesson) -> dict:
    """What the lesson page shows of a notebook lesson (its page, run badge, rendered frame)."""
    notebook = lesson.notebook
    if notebook is None:
        return {}
    from hub.notebooks import services as notebooks

    info = {"notebook": notebook, "badge": notebooks.badge(notebook), "url": None,
            "frame": None}
    if "notebooks.detail" in current_app.view_functions:
        info["url"] = notebooks.notebook_url(notebook)
    version = notebook.latest_version
    if ("notebooks.frame" in current_app.view_functions and version is not None
            and version.render_state == "done" and notebooks.can_view(notebook, current_user)):
        info["frame"] = url_for("notebooks.frame", version_id=version.id)
    return info


@bp.get("/<slug>/lessons/<lesson_slug>")
def lesson(slug: str, lesson_slug: str):
    course = _course_or_404(slug)
    lesson = _lesson_or_404(course, lesson_slug)
    if current_user.is_authenticated:
        services.visit_lesson(lesson, current_user)
        db.session().commit()
    lessons = list(course.lessons)
    i = lessons.index(lesson)
    progress = services.progress(course, current_user)
    results = services.exercise_results(lesson, current_user)
    return render_template(
        "courses/lesson.html", course=course, lesson=lesson, progress=progress,
        results=results, body=services.render_markdown(lesson.body)
        if lesson.kind == "markdown" else "",
        notebook=_notebook_view(lesson) if lesson.kind == "notebook" else {},
        previous=lessons[i - 1] if i > 0 else None,
        next=lessons[i + 1] if i + 1 < len(lessons) else None,
        render_markdown=services.render_markdown, result_message=services.result_message,
        can_edit=services.can_edit(course, current_user),
    )


@bp.post("/<slug>/lessons/<lesson_slug>/complete")
@login_required
def complete(slug: str, lesson_slug: str):
    course = _course_or_404(slug)
    lesson = _lesson_or_404(course, lesson_slug)
    done = request.form.get("complete", "1") != "0"
    services.mark_complete(lesson, current_user, done)
    db.session().commit()
    if done:
        flash(_("Lesson marked complete."), "success")
        following = next((x for x in course.lessons if x.position == lesson.position + 1), None)
        if following is not None:
            return redirect(url_for("courses.lesson", slug=course.slug,
                                    lesson_slug=following.slug))
        return redirect(url_for("courses.detail", slug=course.slug))
    return redirect(url_for("courses.lesson", slug=course.slug, lesson_slug=lesson.slug))


@bp.post("/<slug>/lessons/<lesson_slug>/exercises/<key>")
@login_required
@limit_checks
def submit(slug: str, lesson_slug: str, key: str):
    course = _course_or_404(slug)
    lesson = _lesson_or_404(course, lesson_slug)
    exercise = next((e for e in lesson.exercises if e.key == key), None)
    if exercise is None:
        abort(404)
    try:
        services.submit_answer(exercise, current_user, request.form.get("code", ""))
    except services.CourseError as err:
        _fail(err)
    return redirect(url_for("courses.lesson", slug=course.slug, lesson_slug=lesson.slug,
                            _anchor=f"exercise-{exercise.key}"))


# --- the teacher's editor --------------------------------------------------------------------


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str):
    course = _editable_or_404(slug)
    if request.method == "POST":
        form = request.form
        try:
            services.update_course(
                course, title=form.get("title", ""), title_zh=form.get("title_zh", ""),
                summary=form.get("summary", ""), summary_zh=form.get("summary_zh", ""),
                published=form.get("published") == "1")
        except services.CourseError as err:
            _fail(err)
        else:
            db.session().commit()
            flash(_("Course saved."), "success")
            return redirect(url_for("courses.edit", slug=course.slug))
    return render_template("courses/edit.html", course=course)


@bp.post("/<slug>/lessons")
@login_required
@limit_uploads
def add_lesson(slug: str):
    course = _editable_or_404(slug)
    form = request.form
    upload = request.files.get("notebook")
    try:
        if form.get("kind") == "notebook":
            if upload is None or not upload.filename:
                raise services.CourseError(_("Choose a .ipynb file for a notebook lesson."))
            lesson = services.add_notebook_lesson(
                course, title=form.get("title", ""), title_zh=form.get("title_zh", ""),
                notebook_source=upload.stream, by=current_user)
        else:
            lesson = services.add_markdown_lesson(course, title=form.get("title", ""),
                                                  title_zh=form.get("title_zh", ""),
                                                  body=form.get("body", ""))
    except services.CourseError as err:
        _fail(err)
    else:
        db.session().commit()
        services.queue_notebook_render(lesson)
        flash(_("Lesson added."), "success")
    return redirect(url_for("courses.edit", slug=course.slug))


@bp.route("/<slug>/lessons/<lesson_slug>/edit", methods=["GET", "POST"])
@login_required
def edit_lesson(slug: str, lesson_slug: str):
    course = _editable_or_404(slug)
    lesson = _lesson_or_404(course, lesson_slug)
    if request.method == "POST":
        form = request.form
        try:
            services.update_lesson(lesson, title=form.get("title", ""),
                                   title_zh=form.get("title_zh", ""), body=form.get("body"))
        except services.CourseError as err:
            _fail(err)
        else:
            db.session().commit()
            flash(_("Lesson saved."), "success")
            return redirect(url_for("courses.edit", slug=course.slug))
    return render_template("courses/lesson_edit.html", course=course, lesson=lesson)


@bp.post("/<slug>/lessons/<lesson_slug>/move")
@login_required
def move_lesson(slug: str, lesson_slug: str):
    course = _editable_or_404(slug)
    lesson = _lesson_or_404(course, lesson_slug)
    services.move_lesson(lesson, -1 if request.form.get("direction") == "up" else 1)
    db.session().commit()
    return redirect(url_for("courses.edit", slug=course.slug))


@bp.post("/<slug>/lessons/<lesson_slug>/delete")
@login_required
def delete_lesson(slug: str, lesson_slug: str):
    course = _editable_or_404(slug)
    lesson = _lesson_or_404(course, lesson_slug)
    services.remove_lesson(lesson)
    db.session().commit()
    flash(_("Lesson removed."), "success")
    return redirect(url_for("courses.edit", slug=course.slug))
