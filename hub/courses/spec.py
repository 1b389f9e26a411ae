"""Reading and validating a course folder: ``course.yaml`` plus its lesson files.

The format is documented in ``docs/courses.md``. :func:`load_course_folder` reads everything a
course needs into a :class:`CourseSpec` before anything is stored, and raises
:class:`CourseFormatError` listing every problem it found (``lessons[2].exercises[0].check: …``),
so an import either has all it needs or changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

#: Slugs of courses and lessons, and exercise ids: lower-case letters, digits and dashes.
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
MAX_YAML_BYTES = 1024 * 1024
MAX_MARKDOWN_BYTES = 1024 * 1024
MAX_TEXT = 100_000
MAX_LESSONS = 200
MAX_EXERCISES = 50

COURSE_KEYS = {"slug", "title", "title_zh", "summary", "summary_zh", "published", "lessons"}
LESSON_KEYS = {"slug", "title", "title_zh", "notebook", "markdown", "exercises"}
EXERCISE_KEYS = {"id", "prompt", "starter", "check", "hint", "solution"}


class CourseFormatError(ValueError):
    """A course folder that cannot be imported; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


@dataclass
class ExerciseSpec:
    key: str
    prompt: str
    starter: str
    checks: str
    hint: str
    solution: str


@dataclass
class LessonSpec:
    slug: str
    title: str
    title_zh: str
    kind: str  # "notebook" or "markdown"
    #: The lesson file's bytes (the notebook) or the markdown text.
    notebook_bytes: bytes | None = None
    notebook_file: str = ""
    body: str = ""
    exercises: list[ExerciseSpec] = field(default_factory=list)


@dataclass
class CourseSpec:
    slug: str
    title: str
    title_zh: str
    summary: str
    summary_zh: str
    published: bool
    lessons: list[LessonSpec]


class _Collector:
    """Gathers problems with the place they were found."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}" if where else message)

    def text(self, data: dict, key: str, where: str, *, required: bool = False,
             max_len: int = MAX_TEXT) -> str:
        value = data.get(key)
        place = f"{where}.{key}" if where else key
        if value is None:
            if required:
                self.add(place, "is required")
            return ""
        if not isinstance(value, str):
            self.add(place, f"must be text, not {type(value).__name__}")
            return ""
        if required and not value.strip():
            self.add(place, "must not be empty")
        if len(value) > max_len:
            self.add(place, f"is longer than {max_len} characters")
        return value

    def slug(self, data: dict, key: str, where: str) -> str:
        value = self.text(data, key, where, required=True, max_len=80)
        if value and not SLUG_RE.match(value):
            place = f"{where}.{key}" if where else key
            self.add(place, f"{value!r} must be lower-case letters, digits and dashes "
                            "(starting with a letter or digit, at most 80)")
        return value

    def unknown(self, data: dict, allowed: set[str], where: str) -> None:
        extra = sorted(str(k) for k in data if k not in allowed)
        if extra:
            self.add(where or "course.yaml", f"unknown key(s) {', '.join(extra)} "
                     f"(allowed: {', '.join(sorted(allowed))})")


def _lesson_file(folder: Path, name: Any, where: str, suffix: str, c: _Collector,
                 limit: int) -> bytes | None:
    if not isinstance(name, str) or not name.strip():
        c.add(where, "must be a file name relative to the course folder")
        return None
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts or "\\" in name:
        c.add(where, f"{name!r} must stay inside the course folder")
        return None
    if rel.suffix.lower() != suffix:
        c.add(where, f"{name!r} must be a {suffix} file")
        return None
    path = folder / rel
    try:
        resolved = path.resolve(strict=True)
        resolved.relative_to(folder.resolve())
    except FileNotFoundError:
        c.add(where, f"{name!r} does not exist in the course folder")
        return None
    except ValueError:
        c.add(where, f"{name!r} must stay inside the course folder")
        return None
    if not resolved.is_file():
        c.add(where, f"{name!r} is not a file")
        return None
    if resolved.stat().st_size > limit:
        c.add(where, f"{name!r} is larger than {limit // 1024} KiB")
        return None
    return resolved.read_bytes()


def _exercise(data: Any, where: str, c: _Collector) -> ExerciseSpec | None:
    if not isinstance(data, dict):
        c.add(where, "must be a mapping with id, prompt, check, …")
        return None
    c.unknown(data, EXERCISE_KEYS, where)
    return ExerciseSpec(
        key=c.slug(data, "id", where),
        prompt=c.text(data, "prompt", where, required=True),
        starter=c.text(data, "starter", where),
        checks=_checks(data, where, c),
        hint=c.text(data, "hint", where),
        solution=c.text(data, "solution", where),
    )


def _checks(data: dict, where: str, c: _Collector) -> str:
    code = c.text(data, "check", where, required=True)
    if code.strip():
        try:
            compile(code, f"{where}.check", "exec")  # syntax only: nothing is run here
        except SyntaxError as err:
            c.add(f"{where}.check", f"is not valid Python: {err.msg} (line {err.lineno})")
    return code


def _lesson(folder: Path, data: Any, where: str, c: _Collector) -> LessonSpec | None:
    if not isinstance(data, dict):
        c.add(where, "must be a mapping with slug, title and notebook or markdown")
        return None
    c.unknown(data, LESSON_KEYS, where)
    lesson = LessonSpec(
        slug=c.slug(data, "slug", where),
        title=c.text(data, "title", where, required=True, max_len=200),
        title_zh=c.text(data, "title_zh", where, max_len=200),
        kind="markdown",
    )
    has_nb, has_md = "notebook" in data, "markdown" in data
    if has_nb == has_md:
        c.add(where, "needs exactly one of 'notebook: FILE.ipynb' or 'markdown: FILE.md'")
    elif has_nb:
        lesson.kind = "notebook"
        lesson.notebook_file = str(data["notebook"])
        lesson.notebook_bytes = _lesson_file(folder, data["notebook"], f"{where}.notebook",
                                             ".ipynb", c, 20 * 1024 * 1024)
        if lesson.notebook_bytes is not None:
            from hub.notebooks.services import NotebookError, validate_notebook

            try:
                validate_notebook(lesson.notebook_bytes)
            except NotebookError as err:
                c.add(f"{where}.notebook", f"{data['notebook']!r}: {err}")
    else:
        raw = _lesson_file(folder, data["markdown"], f"{where}.markdown", ".md", c,
                           MAX_MARKDOWN_BYTES)
        if raw is not None:
            try:
                lesson.body = raw.decode("utf-8")
            except UnicodeDecodeError:
                c.add(f"{where}.markdown", f"{data['markdown']!r} is not UTF-8 text")
    exercises = data.get("exercises", [])
    if exercises is None:
        exercises = []
    if not isinstance(exercises, list):
        c.add(f"{where}.exercises", "must be a list")
        exercises = []
    if len(exercises) > MAX_EXERCISES:
        c.add(f"{where}.exercises", f"at most {MAX_EXERCISES} exercises per lesson")
    keys: set[str] = set()
    for i, item in enumerate(exercises):
        exercise = _exercise(item, f"{where}.exercises[{i}]", c)
        if exercise is None:
            continue
        if exercise.key in keys:
            c.add(f"{where}.exercises[{i}].id", f"{exercise.key!r} is used twice in this lesson")
        keys.add(exercise.key)
        lesson.exercises.append(exercise)
    return lesson


def parse_course(folder: Path, data: Any) -> CourseSpec:
    """Validate the parsed ``course.yaml`` of ``folder``; :class:`CourseFormatError` if wrong."""
    c = _Collector()
    if not isinstance(data, dict):
        raise CourseFormatError(["course.yaml must be a mapping with slug, title and lessons"])
    c.unknown(data, COURSE_KEYS, "")
    published = data.get("published", True)
    if not isinstance(published, bool):
        c.add("published", "must be true or false")
        published = True
    spec = CourseSpec(
        slug=c.slug(data, "slug", ""),
        title=c.text(data, "title", "", required=True, max_len=200),
        title_zh=c.text(data, "title_zh", "", max_len=200),
        summary=c.text(data, "summary", ""),
        summary_zh=c.text(data, "summary_zh", ""),
        published=published,
        lessons=[],
    )
    lessons = data.get("lessons")
    if not isinstance(lessons, list) or not lessons:
        c.add("lessons", "must be a non-empty list of lessons")
        lessons = []
    if len(lessons) > MAX_LESSONS:
        c.add("lessons", f"at most {MAX_LESSONS} lessons")
    slugs: set[str] = set()
    for i, item in enumerate(lessons):
        lesson = _lesson(folder, item, f"lessons[{i}]", c)
        if lesson is None:
            continue
        if lesson.slug in slugs:
            c.add(f"lessons[{i}].slug", f"{lesson.slug!r} is used twice in this course")
        slugs.add(lesson.slug)
        spec.lessons.append(lesson)
    if c.errors:
        raise CourseFormatError(c.errors)
    return spec


def load_course_folder(folder: str | Path) -> CourseSpec:
    """Read and validate ``folder/course.yaml`` and every lesson file it names."""
    root = Path(folder)
    manifest = root / "course.yaml"
    if not root.is_dir():
        raise CourseFormatError([f"{root} is not a folder"])
    if not manifest.is_file():
        raise CourseFormatError([f"{root} has no course.yaml"])
    if manifest.stat().st_size > MAX_YAML_BYTES:
        raise CourseFormatError(["course.yaml is larger than 1 MiB"])
    try:
        data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise CourseFormatError(["course.yaml is not UTF-8 text"]) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise CourseFormatError([f"course.yaml is not valid YAML{where}: {problem}"]) from None
    return parse_course(root, data)
