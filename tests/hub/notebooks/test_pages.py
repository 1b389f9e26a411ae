"""Notebook pages: upload through the form, validation (nothing stored), versions, download,
authorization, likes, comments and their moderation, search and profile entries, audit."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub import db as hub_db
from hub.audit.models import AuditEvent
from hub.notebooks.models import Notebook, NotebookComment, NotebookVersion
from tests.hub.notebooks.conftest import make_notebook

HELLO = make_notebook("# md\n# Hello notebooks\nSome $e^{i\\pi}+1=0$ math.", "print(6 * 7)")


def upload(client, data: bytes, filename="hello.ipynb", **form):
    fields = {"file": (io.BytesIO(data), filename), "public": "on", **form}
    if form.get("public") is False:
        fields.pop("public")
    return client.post("/notebooks/new", data=fields, content_type="multipart/form-data")


def blob_files(app) -> list[Path]:
    root = Path(app.config["STORAGE_URL"])
    return [p for p in root.rglob("*") if p.is_file() and "tmp" not in p.parts] \
        if root.exists() else []


def count(model) -> int:
    return hub_db.session().scalar(select(func.count()).select_from(model))


def test_upload_renders_and_versions(app, client, make_user, login):
    author = make_user(username="ada")
    login(client, author)
    response = upload(client, HELLO, title="Hello", tags="intro, math", description="A start")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/notebooks/ada/hello")

    page = client.get("/notebooks/ada/hello").get_data(as_text=True)
    assert "Hello" in page and "#intro" in page and "A start" in page
    frame_src = re.search(r'<iframe class="notebook-frame"[^>]*sandbox="allow-scripts"[^>]*'
                          r'src="(/notebooks/frame/\d+)"', page)
    assert frame_src, "the rendered notebook is shown in a sandboxed frame"
    frame = client.get(frame_src.group(1))
    assert frame.status_code == 200
    html = frame.get_data(as_text=True)
    assert '<span class="nb">print</span>' in html  # syntax highlighting
    assert "e^{i\\pi}+1=0" in html  # math source kept for KaTeX
    assert "default-src 'none'" in frame.headers["Content-Security-Policy"]
    assert "allow-same-origin" not in page

    # The same slug again: a new version; the old one stays viewable.
    second = make_notebook("# md\n# Hello again", "print('v2')")
    assert upload(client, second, title="Hello").status_code == 302
    with app.app_context():
        notebook = hub_db.session().scalar(select(Notebook))
        assert [v.number for v in notebook.versions] == [1, 2]
    old = client.get("/notebooks/ada/hello?version=1").get_data(as_text=True)
    assert "Version 1 of 2" in old
    assert client.get("/notebooks/ada/hello?version=9").status_code == 404

    # Raw download: an attachment, not sniffed, with an ETag that answers 304.
    raw = client.get("/notebooks/ada/hello/download?version=1")
    assert raw.status_code == 200 and raw.data == HELLO
    assert raw.headers["Content-Disposition"].startswith("attachment")
    assert raw.headers["X-Content-Type-Options"] == "nosniff"
    etag = raw.headers["ETag"]
    again = client.get("/notebooks/ada/hello/download?version=1", headers={"If-None-Match": etag})
    assert again.status_code == 304

    with app.app_context():
        actions = hub_db.session().scalars(select(AuditEvent.action)).all()
        assert actions.count("notebook.upload") == 2


def test_same_content_is_rendered_once(app, client, make_user, login):
    login(client, make_user(username="ada"))
    upload(client, HELLO, title="First")
    upload(client, HELLO, title="Second copy")
    with app.app_context():
        from hub.infra.models import Job
        from hub.notebooks.models import NotebookRender

        versions = hub_db.session().scalars(select(NotebookVersion)).all()
        assert len(versions) == 2 and all(v.render_state == "done" for v in versions)
        assert count(NotebookRender) == 1
        renders = hub_db.session().scalars(select(Job).where(Job.kind == "notebook_render"))
        assert len(renders.all()) == 1  # the second upload reused the cached HTML


@pytest.mark.parametrize("data, message", [
    (b'{"cells": [', "not valid JSON"),
    (b"\xff\xfe not text", "not UTF-8"),
    (b'{"hello": "world"}', "not a Jupyter notebook"),
    (b'{"cells": [{"cell_type": "code"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
     "does not follow the notebook format"),
    (b'{"worksheets": [], "nbformat": 3, "nbformat_minor": 0, "metadata": {}}',
     "Only notebook format 4"),
])
def test_invalid_notebooks_are_refused_and_nothing_is_stored(app, client, make_user, login,
                                                             data, message):
    login(client, make_user())
    response = upload(client, data, title="Broken")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert count(Notebook) == 0 and count(NotebookVersion) == 0
    assert blob_files(app) == []


@pytest.mark.parametrize("app_config", [{"JOBS_IMMEDIATE": True, "NOTEBOOK_MAX_BYTES": 2000}],
                         indirect=True)
def test_too_large_notebooks_are_refused(app, client, make_user, login):
    login(client, make_user())
    big = make_notebook("x = '" + "a" * 5000 + "'")
    response = upload(client, big, title="Big")
    assert response.status_code == 400
    assert "larger than the limit" in response.get_data(as_text=True)
    with app.app_context():
        assert count(NotebookVersion) == 0
    assert blob_files(app) == []


def test_private_notebooks_are_404_for_others(app, client, make_user, login):
    owner = make_user(username="owner")
    other = make_user(username="other")
    login(client, owner)
    upload(client, HELLO, title="Secret", public=False)
    with app.app_context():
        version_id = hub_db.session().scalar(select(NotebookVersion.id))
    paths = ["/notebooks/owner/secret", "/notebooks/owner/secret/download",
             f"/notebooks/frame/{version_id}"]
    for path in paths:
        assert client.get(path).status_code == 200, path
    assert "Secret" in client.get("/notebooks/").get_data(as_text=True)

    login(client, other)
    for path in paths:
        assert client.get(path).status_code == 404, path
    assert "Secret" not in client.get("/notebooks/").get_data(as_text=True)
    assert client.post("/notebooks/owner/secret/run").status_code == 404
    assert client.post("/notebooks/owner/secret/delete").status_code == 404
    assert client.post("/notebooks/owner/secret/comments", data={"body": "hi"}).status_code == 404
    client.get("/", follow_redirects=False)
    with client.session_transaction() as session:
        session.clear()
    for path in paths:
        assert client.get(path).status_code == 404, path


def test_likes_comments_moderation_search_and_profile(app, client, make_user, login):
    owner = make_user(username="owner")
    fan = make_user(username="fan")
    admin = make_user(role="admin", username="boss")
    login(client, owner)
    upload(client, HELLO, title="Gradients explained", tags="autograd")

    login(client, fan)
    client.post("/notebooks/owner/gradients-explained/like", data={"like": "1"})
    client.post("/notebooks/owner/gradients-explained/like", data={"like": "1"})  # idempotent
    client.post("/notebooks/owner/gradients-explained/comments",
                data={"body": "<script>alert(1)</script> nice"})
    page = client.get("/notebooks/owner/gradients-explained").get_data(as_text=True)
    assert "Unlike · 1" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; nice" in page and "<script>alert" not in page
    # Only the owner (or an admin) may hide a comment.
    with app.app_context():
        comment_id = hub_db.session().scalar(select(NotebookComment.id))
    hide_url = f"/notebooks/owner/gradients-explained/comments/{comment_id}/hide"
    assert client.post(hide_url).status_code == 404

    # Search and the author's profile list it.
    assert "Gradients explained" in client.get("/search?q=gradients").get_data(as_text=True)
    assert "Gradients explained" in client.get("/users/owner").get_data(as_text=True)

    # Reports go to the admin moderation queue; hiding hides the notebook from others.
    with app.app_context():
        notebook_id = hub_db.session().scalar(select(Notebook.id))
    client.post("/report", data={"kind": "notebook", "id": str(notebook_id), "reason": "spam",
                                 "next": "/"})
    from hub.admin.models import Report

    with app.app_context():
        report = hub_db.session().scalar(select(Report))
        assert report is not None and report.target_kind == "notebook"
        report_id = report.id
    login(client, admin)
    client.post(f"/admin/reports/{report_id}", data={"decision": "hide"})
    with app.app_context():
        assert hub_db.session().get(Notebook, notebook_id).is_hidden
    login(client, fan)
    assert client.get("/notebooks/owner/gradients-explained").status_code == 404
    assert "Gradients explained" not in client.get("/search?q=gradients").get_data(as_text=True)

    login(client, owner)  # the owner still sees it, and hides the comment
    assert client.get("/notebooks/owner/gradients-explained").status_code == 200
    assert client.post(hide_url, data={"hidden": "1"}).status_code == 302
    login(client, admin)
    client.post(f"/admin/reports/{report_id}", data={"decision": "restore"})
    login(client, fan)
    page = client.get("/notebooks/owner/gradients-explained").get_data(as_text=True)
    assert "nice" not in page  # the hidden comment

    login(client, owner)
    assert client.post("/notebooks/owner/gradients-explained/delete").status_code == 302
    with app.app_context():
        assert count(Notebook) == 0 and count(NotebookComment) == 0
        actions = hub_db.session().scalars(select(AuditEvent.action)).all()
        assert "notebook.delete" in actions
    found = client.get("/search?q=gradients").get_data(as_text=True)
    assert "/notebooks/owner/gradients-explained" not in found


def test_list_filters_by_tag_and_text(app, client, make_user, login):
    login(client, make_user(username="ada"))
    upload(client, HELLO, title="Tensors", tags="basics")
    upload(client, make_notebook("print(1)"), title="Convolutions", tags="vision")
    client.get("/notebooks/")  # shows (and so clears) the upload messages
    page = client.get("/notebooks/?tag=vision").get_data(as_text=True)
    assert "Convolutions" in page and "Tensors" not in page
    page = client.get("/notebooks/?q=tens").get_data(as_text=True)
    assert "Tensors" in page and "Convolutions" not in page


def test_pages_speak_chinese(app, client, make_user, login):
    login(client, make_user(username="ada"))
    upload(client, HELLO, title="Hello")
    client.post("/language", data={"lang": "zh"})
    page = client.get("/notebooks/ada/hello").get_data(as_text=True)
    assert "第 1 版（共 1 版）" in page and "评论" in page and "下载" in page
    assert "上传笔记本" in client.get("/notebooks/").get_data(as_text=True)
    bad = upload(client, b"{oops", title="Broken").get_data(as_text=True)
    assert "该文件不是有效的 JSON" in bad


def test_owner_edits_details_and_visibility(app, client, make_user, login):
    owner = make_user(username="owner")
    other = make_user(username="other")
    login(client, owner)
    upload(client, HELLO, title="Draft")
    assert client.get("/notebooks/owner/draft/edit").status_code == 200
    response = client.post("/notebooks/owner/draft/edit", data={
        "title": "Final title", "description": "Now described", "tags": "done, tidy"})
    assert response.status_code == 302
    page = client.get("/notebooks/owner/draft").get_data(as_text=True)
    assert "Final title" in page and "Now described" in page and "#tidy" in page
    assert "Private" in page  # the box was unticked
    bad = client.post("/notebooks/owner/draft/edit", data={"title": "X", "tags": "<b>"})
    assert bad.status_code == 400
    login(client, other)
    assert client.get("/notebooks/owner/draft").status_code == 404
    assert client.post("/notebooks/owner/draft/edit", data={"title": "Mine"}).status_code == 404
    with app.app_context():
        actions = hub_db.session().scalars(select(AuditEvent.action)).all()
        assert "notebook.update" in actions
