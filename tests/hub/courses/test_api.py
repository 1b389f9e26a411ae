"""``/api/v1/courses``: list, show with progress and notebook status, enroll, complete,
answer exercises (checked in the sandbox), push a folder; and ``skiff course push``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hub import db as hub_db
from hub.api import tokens

from .conftest import FIXTURE_COURSE


def _token(user, scopes=("read", "write")) -> dict:
    new = tokens.create_token(hub_db.session().merge(user), "test", list(scopes))
    hub_db.session().commit()
    return {"Authorization": f"Bearer {new.secret}"}


def test_list_and_show_courses(client, db, imported, make_user):
    listed = client.get("/api/v1/courses").get_json()
    assert listed["total"] == 1 and listed["items"][0]["slug"] == "intro-fixture"
    assert listed["items"][0]["title_zh"] == "张量入门"
    body = client.get("/api/v1/courses/intro-fixture").get_json()
    assert [x["slug"] for x in body["lessons"]] == ["welcome", "first-tensor"]
    assert body["lessons"][0]["exercises"][0]["id"] == "answer"
    assert "check" not in body["lessons"][0]["exercises"][0]
    assert "solution" not in body["lessons"][0]["exercises"][0]
    assert body["lessons"][1]["notebook"] == "tess/intro-fixture-first-tensor"
    assert body["notebooks"]["total"] == 1 and body["notebooks"]["state"] == "pending"
    assert body["progress"] is None
    assert client.get("/api/v1/courses/nope").status_code == 404


def test_enroll_complete_and_progress(client, db, imported, make_user):
    headers = _token(make_user(username="lea"))
    assert client.post("/api/v1/courses/intro-fixture/enrollment").status_code == 401
    body = client.post("/api/v1/courses/intro-fixture/enrollment", headers=headers).get_json()
    assert body["progress"] == {"enrolled": True, "done": 0, "total": 2, "percent": 0,
                                "resume": "welcome"}
    done = client.post("/api/v1/courses/intro-fixture/lessons/welcome/completion",
                       headers=headers, json={}).get_json()
    assert done == {"enrolled": True, "done": 1, "total": 2, "percent": 50,
                    "resume": "first-tensor"}
    body = client.get("/api/v1/courses/intro-fixture", headers=headers).get_json()
    assert [x["completed"] for x in body["lessons"]] == [True, False]
    undone = client.post("/api/v1/courses/intro-fixture/lessons/welcome/completion",
                         headers=headers, json={"complete": False}).get_json()
    assert undone["done"] == 0
    assert client.post("/api/v1/courses/intro-fixture/lessons/nope/completion",
                       headers=headers, json={}).status_code == 404


def test_read_only_token_cannot_write(client, db, imported, make_user):
    headers = _token(make_user(username="lea"), scopes=("read",))
    response = client.post("/api/v1/courses/intro-fixture/enrollment", headers=headers)
    assert response.status_code == 403


@pytest.mark.parametrize("app_config", [{"JOBS_IMMEDIATE": True}], indirect=True)
def test_answer_an_exercise(client, db, teacher, course_dir, make_user):
    import yaml

    from hub.courses import services

    data = yaml.safe_load((course_dir / "course.yaml").read_text(encoding="utf-8"))
    data["lessons"] = data["lessons"][:1]
    (course_dir / "course.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    services.import_course(course_dir, hub_db.session().merge(teacher))
    headers = _token(make_user(username="lea"))
    url = "/api/v1/courses/intro-fixture/lessons/welcome/exercises/answer"
    assert client.get(url + "/result", headers=headers).status_code == 404
    response = client.post(url + "/answers", headers=headers, json={"code": "answer = 7"})
    assert response.status_code == 202
    assert response.get_json()["status"] == "failed"
    assert response.get_json()["message"] == "answer is 7; it should be 42."
    client.post(url + "/answers", headers=headers, json={"code": "answer = 42"})
    result = client.get(url + "/result", headers=headers).get_json()
    assert result["status"] == "passed" and result["attempts"] == 2 and result["ever_passed"]
    assert client.post(url + "/answers", headers=headers, json={}).status_code == 422


def _files(folder) -> dict:
    from hub.courses.cli import collect_files

    return collect_files(folder)


def test_push_a_course_folder(client, db, teacher, make_user):
    headers = _token(teacher)
    body = client.post("/api/v1/courses/push", headers=headers,
                       json={"files": _files(FIXTURE_COURSE), "draft": True}).get_json()
    assert body["slug"] == "intro-fixture" and body["published"] is False
    assert len(body["lessons"]) == 2
    assert client.get("/api/v1/courses/intro-fixture").status_code == 404  # a draft

    member = _token(make_user(username="mia"))
    response = client.post("/api/v1/courses/push", headers=member,
                           json={"files": _files(FIXTURE_COURSE)})
    assert response.status_code == 403
    other = _token(make_user(role="teacher", username="otto"))
    response = client.post("/api/v1/courses/push", headers=other,
                           json={"files": _files(FIXTURE_COURSE)})
    assert response.status_code == 403


def test_push_errors_are_clear(client, db, teacher):
    headers = _token(teacher)
    files = _files(FIXTURE_COURSE)
    del files["welcome.md"]
    response = client.post("/api/v1/courses/push", headers=headers, json={"files": files})
    assert response.status_code == 422
    assert "lessons[0].markdown: 'welcome.md' does not exist" in \
        response.get_json()["error"]["message"]
    response = client.post("/api/v1/courses/push", headers=headers,
                           json={"files": {"../course.yaml": "x"}})
    assert response.status_code == 422 and "bad file name" in \
        response.get_json()["error"]["message"]
    assert client.get("/api/v1/courses").get_json()["total"] == 0


def test_skiff_course_push(live_server, teacher, tmp_path):
    with live_server.app.app_context():
        secret = tokens.create_token(hub_db.session().merge(teacher), "cli",
                                     ["read", "write"]).secret
        hub_db.session().commit()
    env = {**os.environ, "SKIFF_CONFIG_DIR": str(tmp_path), "SKIFF_TOKEN": secret,
           "SKIFF_ENDPOINT": live_server.url}
    out = subprocess.run([sys.executable, "-m", "hub.cli", "course", "push",
                          str(FIXTURE_COURSE)], capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "Pushed intro-fixture: 2 lessons (published)" in out.stdout
    from hub.client import SkiffClient

    listed = list(SkiffClient(live_server.url, secret).iter_pages("courses"))
    assert [item["slug"] for item in listed] == ["intro-fixture"]
