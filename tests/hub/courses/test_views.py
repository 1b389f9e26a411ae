"""Course pages: teachers edit, others get 403/404, drafts stay hidden; learners enroll, see
progress and resume; search, profile and language."""

from __future__ import annotations

from hub import db as hub_db
from hub.courses import services

from .conftest import course


def _new_course(client, **fields):
    data = {"slug": "draft-course", "title": "Draft course", "title_zh": "草稿课程",
            "summary": "A draft.", "summary_zh": ""}
    data.update(fields)
    return client.post("/courses/new", data=data)


def test_teacher_creates_edits_reorders_and_publishes(client, db, login, teacher):
    login(client, teacher)
    response = _new_course(client)
    assert response.status_code == 302 and response.location.endswith("/courses/draft-course/edit")
    for title in ("One", "Two"):
        client.post("/courses/draft-course/lessons",
                    data={"kind": "markdown", "title": title, "body": f"# {title}"})
    nb = (__import__("pathlib").Path(__file__).parent / "fixtures/intro/first-tensor.ipynb")
    with nb.open("rb") as fh:
        response = client.post("/courses/draft-course/lessons",
                               data={"kind": "notebook", "title": "Three", "notebook": fh},
                               content_type="multipart/form-data")
    assert response.status_code == 302
    hub_db.session().expire_all()
    c = course("draft-course")
    notebook = c.lessons[2].notebook
    assert notebook.owner_id == teacher.id and not notebook.is_public  # the course is a draft
    assert notebook.latest_version.render_job_id is not None  # rendering was queued
    assert [(x.title, x.kind) for x in c.lessons] == [("One", "markdown"), ("Two", "markdown"),
                                                      ("Three", "notebook")]
    client.post("/courses/draft-course/lessons/two/move", data={"direction": "up"})
    client.post("/courses/draft-course/lessons/one/delete")
    client.post("/courses/draft-course/lessons/two/edit",
                data={"title": "Two, edited", "title_zh": "二", "body": "Edited *text*"})
    client.post("/courses/draft-course/edit",
                data={"title": "Renamed", "title_zh": "改名", "summary": "S", "published": "1"})
    hub_db.session().expire_all()
    c = course("draft-course")
    assert c.title == "Renamed" and c.is_published
    assert [(x.position, x.title) for x in c.lessons] == [(1, "Two, edited"), (2, "Three")]
    assert c.lessons[0].title_zh == "二" and c.lessons[0].body == "Edited *text*"
    assert c.lessons[1].notebook.is_public  # published with its course
    page = client.get("/courses/draft-course/lessons/two").get_data(as_text=True)
    assert "<em>text</em>" in page


def test_bad_course_fields_are_refused(client, db, login, teacher):
    login(client, teacher)
    response = _new_course(client, slug="Not A Slug")
    assert response.status_code == 200 and "A slug is lower-case letters" in \
        response.get_data(as_text=True)
    _new_course(client)
    response = _new_course(client)
    assert "A course with that slug already exists." in response.get_data(as_text=True)


def test_members_cannot_create_courses(client, db, login, make_user):
    login(client, make_user())
    assert client.get("/courses/new").status_code == 403
    assert _new_course(client).status_code == 403


def test_drafts_are_invisible_and_editing_is_the_teachers(client, db, login, teacher,
                                                          make_user):
    login(client, teacher)
    _new_course(client)
    client.post("/courses/draft-course/lessons", data={"kind": "markdown", "title": "One"})
    other = make_user(role="teacher", username="otto")
    login(client, other)
    for url in ("/courses/draft-course", "/courses/draft-course/lessons/one",
                "/courses/draft-course/edit"):
        assert client.get(url).status_code == 404, url
    assert client.post("/courses/draft-course/enroll").status_code == 404
    assert "Draft course" not in client.get("/courses").get_data(as_text=True)
    assert "Draft course" not in client.get("/search?q=draft").get_data(as_text=True)
    assert client.get("/api/v1/courses/draft-course").status_code == 404

    login(client, teacher)
    client.post("/courses/draft-course/edit", data={"title": "Draft course", "published": "1"})
    login(client, other)
    assert client.get("/courses/draft-course").status_code == 200
    assert client.get("/courses/draft-course/edit").status_code == 403
    assert client.post("/courses/draft-course/lessons/one/delete").status_code == 403
    assert client.post("/courses/draft-course/lessons",
                       data={"kind": "markdown", "title": "X"}).status_code == 403
    assert client.post("/courses/draft-course/check-notebooks").status_code == 403
    admin = make_user(role="admin", username="ada")
    login(client, admin)
    assert client.get("/courses/draft-course/edit").status_code == 200


def test_enroll_progress_and_resume(client, db, login, imported, make_user):
    learner = make_user(username="lea")
    page = client.get("/courses/intro-fixture").get_data(as_text=True)
    assert "Sign in to enroll" in page
    login(client, learner)
    assert 'data-testid="enroll"' in client.get("/courses/intro-fixture").get_data(as_text=True)
    client.post("/courses/intro-fixture/enroll")
    page = client.get("/courses/intro-fixture").get_data(as_text=True)
    assert "0 of 2 lessons complete" in page and "Continue: lesson 1" in page

    client.get("/courses/intro-fixture/lessons/first-tensor")
    assert "Continue: lesson 2" in client.get("/courses/intro-fixture").get_data(as_text=True)
    response = client.post("/courses/intro-fixture/lessons/welcome/complete")
    assert response.location.endswith("/courses/intro-fixture/lessons/first-tensor")
    page = client.get("/courses/intro-fixture").get_data(as_text=True)
    assert "1 of 2 lessons complete" in page and "Continue: lesson 2" in page
    index = client.get("/courses").get_data(as_text=True)
    assert "1 of 2 lessons complete" in index and "Continue: lesson 2" in index

    client.post("/courses/intro-fixture/lessons/first-tensor/complete")
    page = client.get("/courses/intro-fixture").get_data(as_text=True)
    assert "2 of 2 lessons complete" in page
    client.post("/courses/intro-fixture/lessons/welcome/complete", data={"complete": "0"})
    assert "1 of 2 lessons complete" in client.get("/courses/intro-fixture").get_data(
        as_text=True)


def test_progress_survives_a_new_app_on_the_same_database(app, client, db, login, imported,
                                                          make_user):
    from hub import create_app

    learner = make_user(username="lea")
    login(client, learner)
    client.post("/courses/intro-fixture/lessons/welcome/complete")
    again = create_app(dict(app.config))
    with again.app_context():
        c = services.find_course("intro-fixture")
        user = hub_db.session().get(type(learner), learner.id)
        progress = services.progress(c, user)
        assert progress.done == 1 and progress.resume.slug == "first-tensor"
    hub_db.get_database(again).dispose()


def test_markdown_lessons_are_sanitized(client, imported):
    page = client.get("/courses/intro-fixture/lessons/welcome").get_data(as_text=True)
    assert "<strong>arrays</strong>" in page and "<h2>Welcome</h2>" in page
    assert "<script>alert" not in page and 'href="javascript' not in page
    assert "&lt;script&gt;alert" in page  # shown as text, never run


def test_search_and_profile_list_the_course(client, imported):
    results = client.get("/search?q=tensors").get_data(as_text=True)
    assert "/courses/intro-fixture" in results
    profile = client.get("/users/tess").get_data(as_text=True)
    assert "Courses taught" in profile and "Introduction to tensors" in profile


def test_chinese_titles_follow_the_language(client, imported):
    client.set_cookie("skiff_lang", "zh")
    assert "张量入门" in client.get("/courses").get_data(as_text=True)
    page = client.get("/courses/intro-fixture").get_data(as_text=True)
    assert "张量入门" in page and "第一个张量" in page and "登录后即可报名并记录学习进度。" in page
    assert "Introduction to tensors" not in page


def test_notebook_status_and_check_all(client, db, login, imported, teacher):
    page = client.get("/courses/intro-fixture").get_data(as_text=True)
    assert "0 of 1 notebooks are checked to run" in page
    assert "Check all notebooks" not in page
    login(client, teacher)
    assert "Check all notebooks" in client.get("/courses/intro-fixture").get_data(as_text=True)
