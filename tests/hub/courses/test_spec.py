"""course.yaml validation: every problem is reported with where it is, and nothing is stored."""

from __future__ import annotations

import pytest
import yaml

from hub.courses.spec import CourseFormatError, load_course_folder


def _write(folder, data):
    (folder / "course.yaml").write_text(yaml.safe_dump(data, allow_unicode=True),
                                        encoding="utf-8")


def _errors(folder) -> list[str]:
    with pytest.raises(CourseFormatError) as info:
        load_course_folder(folder)
    return info.value.errors


def test_fixture_course_reads_completely(app, course_dir):
    with app.app_context():
        spec = load_course_folder(course_dir)
    assert spec.slug == "intro-fixture" and spec.title_zh == "张量入门"
    assert [lesson.slug for lesson in spec.lessons] == ["welcome", "first-tensor"]
    assert spec.lessons[0].kind == "markdown" and "Tensors are" in spec.lessons[0].body
    assert spec.lessons[1].kind == "notebook" and spec.lessons[1].notebook_bytes
    assert [e.key for e in spec.lessons[0].exercises] == ["answer", "square"]
    assert "assert answer == 42" in spec.lessons[0].exercises[0].checks
    assert spec.published is True


def test_missing_manifest_and_bad_yaml(tmp_path):
    assert "has no course.yaml" in _errors(tmp_path)[0]
    (tmp_path / "course.yaml").write_text("slug: [unclosed\n", encoding="utf-8")
    [error] = _errors(tmp_path)
    assert error.startswith("course.yaml is not valid YAML at line")


def test_every_problem_is_listed_with_its_place(app, course_dir):
    _write(course_dir, {
        "slug": "Bad Slug", "title": "", "colour": "blue", "published": "yes",
        "lessons": [
            {"slug": "a", "title": "A", "markdown": "welcome.md",
             "exercises": [{"id": "x", "prompt": "p", "check": "assert (", "extra": 1},
                           {"id": "x", "prompt": "p", "check": "assert True"},
                           {"id": "y", "check": "assert True"}]},
            {"slug": "a", "title": "Again", "notebook": "missing.ipynb"},
            {"slug": "b", "title": "B", "markdown": "../outside.md"},
            {"slug": "c", "title": "C"},
            {"slug": "d", "title": "D", "notebook": "welcome.md"},
            "not a mapping",
        ],
    })
    with app.app_context():
        errors = _errors(course_dir)
    text = "\n".join(errors)
    assert "slug: 'Bad Slug' must be lower-case letters" in text
    assert "title: must not be empty" in text
    assert "unknown key(s) colour" in text
    assert "published: must be true or false" in text
    assert "lessons[0].exercises[0].check: is not valid Python" in text
    assert "lessons[0].exercises[0]: unknown key(s) extra" in text
    assert "lessons[0].exercises[1].id: 'x' is used twice in this lesson" in text
    assert "lessons[0].exercises[2].prompt: is required" in text
    assert "lessons[1].slug: 'a' is used twice in this course" in text
    assert "lessons[1].notebook: 'missing.ipynb' does not exist" in text
    assert "lessons[2].markdown: '../outside.md' must stay inside the course folder" in text
    assert "lessons[3]: needs exactly one of 'notebook: FILE.ipynb' or 'markdown: FILE.md'" \
        in text
    assert "lessons[4].notebook: 'welcome.md' must be a .ipynb file" in text
    assert "lessons[5]: must be a mapping" in text


def test_invalid_notebook_is_reported(app, course_dir):
    (course_dir / "first-tensor.ipynb").write_text("{not json", encoding="utf-8")
    with app.app_context():
        [error] = _errors(course_dir)
    assert error.startswith("lessons[1].notebook: 'first-tensor.ipynb': The file is not valid JSON")


def test_lessons_must_be_a_non_empty_list(course_dir):
    _write(course_dir, {"slug": "empty", "title": "Empty", "lessons": []})
    assert _errors(course_dir) == ["lessons: must be a non-empty list of lessons"]


def test_symlink_out_of_the_folder_is_refused(tmp_path, course_dir):
    secret = tmp_path / "secret.md"
    secret.write_text("secret", encoding="utf-8")
    (course_dir / "link.md").symlink_to(secret)
    _write(course_dir, {"slug": "s", "title": "S",
                        "lessons": [{"slug": "a", "title": "A", "markdown": "link.md"}]})
    assert _errors(course_dir) == ["lessons[0].markdown: 'link.md' must stay inside the "
                                   "course folder"]
