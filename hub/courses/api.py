"""``/api/v1/courses``: list and show courses, enroll, complete lessons, answer exercises,
and push a course folder (what ``skiff course push DIR`` calls)."""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath

from flask import jsonify
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from hub import db
from hub.api.core import api, api_error, auth, current_api_user, json_body, paginate, schema
from hub.courses import services
from hub.courses.models import Course, Exercise, ExerciseResult, Lesson
from hub.courses.spec import CourseFormatError
from hub.courses.views import limit_checks
from hub.security import limit_uploads

MAX_PUSH_FILES = 500


@schema
class ExerciseSchema(Schema):
    id = fields.String()
    prompt = fields.String()
    starter = fields.String()
    hint = fields.String()


@schema
class LessonSchema(Schema):
    position = fields.Integer()
    slug = fields.String()
    title = fields.String()
    title_zh = fields.String()
    kind = fields.String(metadata={"description": "notebook or markdown"})
    notebook = fields.String(allow_none=True, metadata={"description": "owner/slug"})
    exercises = fields.List(fields.Nested(ExerciseSchema))
    completed = fields.Boolean(allow_none=True)


@schema
class CourseProgressSchema(Schema):
    enrolled = fields.Boolean()
    done = fields.Integer()
    total = fields.Integer()
    percent = fields.Integer()
    resume = fields.String(allow_none=True, metadata={"description": "slug of the lesson to "
                                                                    "continue with"})


@schema
class CourseSchema(Schema):
    slug = fields.String()
    title = fields.String()
    title_zh = fields.String()
    summary = fields.String()
    summary_zh = fields.String()
    published = fields.Boolean()
    owner = fields.String()
    url = fields.String()
    lessons = fields.List(fields.Nested(LessonSchema))
    notebooks = fields.Dict(metadata={"description": "whether every notebook lesson runs: "
                                                     "state (passed, failed, pending, none), "
                                                     "passed, failed, total"})
    progress = fields.Nested(CourseProgressSchema, allow_none=True)


@schema
class CompleteSchema(Schema):
    complete = fields.Boolean(load_default=True)


@schema
class AnswerSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1,
                                                                 max=services.MAX_ANSWER))


@schema
class ExerciseResultSchema(Schema):
    exercise = fields.String()
    status = fields.String(metadata={"description": "checking, passed, failed or error"})
    message = fields.String()
    output = fields.String()
    attempts = fields.Integer()
    ever_passed = fields.Boolean()
    job_id = fields.Integer(allow_none=True)


@schema
class CoursePushSchema(Schema):
    files = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                        metadata={"description": "path in the course folder -> file text "
                                                 "(course.yaml, .ipynb and .md files)"})
    draft = fields.Boolean(load_default=False)


def dump_course(course: Course, *, full: bool = False, user=None) -> dict:
    data = {
        "slug": course.slug, "title": course.title, "title_zh": course.title_zh,
        "summary": course.summary, "summary_zh": course.summary_zh,
        "published": course.is_published, "owner": course.owner.username,
        "url": services.course_url(course),
    }
    if not full:
        return data
    progress = services.progress(course, user) if user is not None else None
    done = progress.completed_ids if progress else set()
    data["lessons"] = [dump_lesson(lesson, done if progress else None)
                       for lesson in course.lessons]
    status = services.notebook_status(course)
    data["notebooks"] = {"state": status.state, "passed": status.passed,
                         "failed": status.failed, "total": status.total,
                         "framework_version": status.framework_version}
    data["progress"] = None if progress is None else {
        "enrolled": progress.enrolled, "done": progress.done, "total": progress.total,
        "percent": progress.percent,
        "resume": progress.resume.slug if progress.resume else None,
    }
    return data


def dump_lesson(lesson: Lesson, done: set[int] | None) -> dict:
    notebook = lesson.notebook
    return {
        "position": lesson.position, "slug": lesson.slug, "title": lesson.title,
        "title_zh": lesson.title_zh, "kind": lesson.kind,
        "notebook": f"{notebook.owner.username}/{notebook.slug}" if notebook else None,
        "exercises": [{"id": e.key, "prompt": e.prompt, "starter": e.starter, "hint": e.hint}
                      for e in lesson.exercises],
        "completed": None if done is None else lesson.id in done,
    }


def dump_result(exercise: Exercise, row: ExerciseResult) -> dict:
    return {"exercise": exercise.key, "status": row.status,
            "message": services.result_message(row), "output": row.output,
            "attempts": row.attempts, "ever_passed": row.ever_passed, "job_id": row.job_id}


def _course(slug: str) -> Course:
    course = services.find_course(slug)
    if not services.can_view(course, current_api_user()):
        api_error(404, "no such course")
    return course


def _lesson(slug: str, lesson_slug: str) -> Lesson:
    lesson = services.find_lesson(_course(slug), lesson_slug)
    if lesson is None:
        api_error(404, "no such lesson")
    return lesson


def _exercise(slug: str, lesson_slug: str, key: str) -> Exercise:
    exercise = next((e for e in _lesson(slug, lesson_slug).exercises if e.key == key), None)
    if exercise is None:
        api_error(404, "no such exercise")
    return exercise


@api.get("/courses")
@auth(optional=True)
def list_courses():
    """List published courses, newest first.
    ---
    get:
      tags: [courses]
      parameters:
        - {in: query, name: page, schema: {type: integer, minimum: 1}}
        - {in: query, name: per_page, schema: {type: integer, minimum: 1, maximum: 100}}
      responses:
        200:
          content:
            application/json:
              schema:
                type: object
                properties:
                  items: {type: array, items: {$ref: '#/components/schemas/Course'}}
                  page: {type: integer}
                  per_page: {type: integer}
                  total: {type: integer}
                  pages: {type: integer}
    """
    stmt = (select(Course).where(Course.is_published.is_(True))
            .order_by(Course.updated_at.desc(), Course.id.desc()))
    return paginate(stmt, dump_course)


@api.get("/courses/<slug>")
@auth(optional=True)
def get_course(slug: str):
    """Show a course with its lessons, notebook run status and (signed in) your progress.
    ---
    get:
      tags: [courses]
      parameters: [{in: path, name: slug, schema: {type: string}, required: true}]
      responses:
        200: {content: {application/json: {schema: Course}}}
        404: {$ref: '#/components/responses/NotFound'}
    """
    course = _course(slug)
    return jsonify(dump_course(course, full=True, user=current_api_user()))


@api.post("/courses/<slug>/enrollment")
@auth("write")
def enroll_course(slug: str):
    """Enroll in a course (idempotent).
    ---
    post:
      tags: [courses]
      parameters: [{in: path, name: slug, schema: {type: string}, required: true}]
      responses:
        200: {content: {application/json: {schema: Course}}}
        401: {$ref: '#/components/responses/Unauthorized'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    course = _course(slug)
    user = current_api_user()
    services.enroll(course, user)
    db.session().commit()
    return jsonify(dump_course(course, full=True, user=user))


@api.post("/courses/<slug>/lessons/<lesson_slug>/completion")
@auth("write")
def complete_lesson(slug: str, lesson_slug: str):
    """Mark a lesson complete (``{"complete": false}`` undoes it); enrolls you if needed.
    ---
    post:
      tags: [courses]
      parameters:
        - {in: path, name: slug, schema: {type: string}, required: true}
        - {in: path, name: lesson_slug, schema: {type: string}, required: true}
      requestBody: {content: {application/json: {schema: Complete}}}
      responses:
        200: {content: {application/json: {schema: CourseProgress}}}
        401: {$ref: '#/components/responses/Unauthorized'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    lesson = _lesson(slug, lesson_slug)
    body = json_body(CompleteSchema)
    user = current_api_user()
    services.mark_complete(lesson, user, body["complete"])
    db.session().commit()
    progress = services.progress(lesson.course, user)
    return jsonify(enrolled=progress.enrolled, done=progress.done, total=progress.total,
                   percent=progress.percent,
                   resume=progress.resume.slug if progress.resume else None)


@api.post("/courses/<slug>/lessons/<lesson_slug>/exercises/<key>/answers")
@auth("write")
@limit_checks
def answer_exercise(slug: str, lesson_slug: str, key: str):
    """Submit code for an exercise; it is checked in the sandbox in a background job.
    ---
    post:
      tags: [courses]
      parameters:
        - {in: path, name: slug, schema: {type: string}, required: true}
        - {in: path, name: lesson_slug, schema: {type: string}, required: true}
        - {in: path, name: key, schema: {type: string}, required: true}
      requestBody: {required: true, content: {application/json: {schema: Answer}}}
      responses:
        202: {content: {application/json: {schema: ExerciseResult}}}
        401: {$ref: '#/components/responses/Unauthorized'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    exercise = _exercise(slug, lesson_slug, key)
    body = json_body(AnswerSchema)
    try:
        row = services.submit_answer(exercise, current_api_user(), body["code"])
    except services.CourseError as err:
        db.session().rollback()
        api_error(err.status, str(err), err.code)
    return jsonify(dump_result(exercise, row)), 202


@api.get("/courses/<slug>/lessons/<lesson_slug>/exercises/<key>/result")
@auth("read")
def exercise_result(slug: str, lesson_slug: str, key: str):
    """Your latest result for an exercise (``checking`` while the job runs).
    ---
    get:
      tags: [courses]
      parameters:
        - {in: path, name: slug, schema: {type: string}, required: true}
        - {in: path, name: lesson_slug, schema: {type: string}, required: true}
        - {in: path, name: key, schema: {type: string}, required: true}
      responses:
        200: {content: {application/json: {schema: ExerciseResult}}}
        401: {$ref: '#/components/responses/Unauthorized'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    exercise = _exercise(slug, lesson_slug, key)
    row = services.exercise_results(exercise.lesson, current_api_user()).get(exercise.id)
    if row is None:
        api_error(404, "you have not answered this exercise yet")
    return jsonify(dump_result(exercise, row))


def _write_push(folder: Path, files: dict[str, str]) -> None:
    if not files or len(files) > MAX_PUSH_FILES:
        api_error(422, f"send between 1 and {MAX_PUSH_FILES} files", "validation_error")
    for name, text in files.items():
        rel = PurePosixPath(name)
        if (not name or rel.is_absolute() or ".." in rel.parts or "\\" in name
                or "\0" in name or len(rel.parts) > 8):
            api_error(422, f"bad file name {name[:100]!r}: use paths inside the course folder",
                      "validation_error")
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


@api.post("/courses/push")
@auth("write")
@limit_uploads
def push_course():
    """Create or update a course from a folder's files (teachers): ``course.yaml`` plus the
    lesson files it names. Re-pushing updates the course in place and keeps learners'
    progress.
    ---
    post:
      tags: [courses]
      requestBody: {required: true, content: {application/json: {schema: CoursePush}}}
      responses:
        200: {content: {application/json: {schema: Course}}}
        401: {$ref: '#/components/responses/Unauthorized'}
        403: {$ref: '#/components/responses/Forbidden'}
        422: {$ref: '#/components/responses/Invalid'}
    """
    user = current_api_user()
    if not user.has_role("teacher"):
        api_error(403, "only teachers can push courses", "forbidden")
    body = json_body(CoursePushSchema)
    with tempfile.TemporaryDirectory(prefix="skiff-course-") as tmp:
        _write_push(Path(tmp), body["files"])
        try:
            course = services.import_course(tmp, user,
                                            publish=False if body["draft"] else None)
        except CourseFormatError as err:
            api_error(422, "course.yaml has problems: " + "; ".join(err.errors),
                      "invalid_course")
        except services.CourseError as err:
            api_error(err.status, str(err), err.code)
    return jsonify(dump_course(course, full=True, user=user))
