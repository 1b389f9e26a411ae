"""Security: CSRF, cookies, headers, body size, rate limits, authorization, error responses."""

from __future__ import annotations

import re

import pytest
from flask import abort
from flask_login import login_required

from hub import security
from hub.accounts.models import User

CSRF_ON = pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}], indirect=True)


def _token(client, path="/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


@CSRF_ON
def test_forms_without_a_csrf_token_are_refused(client, make_user):
    user = make_user()
    resp = client.post("/login", data={"login": user.username, "password": user.plain_password})
    assert resp.status_code == 400
    assert "The form expired or was not sent from this site" in resp.get_data(as_text=True)
    resp = client.post("/login", data={"login": user.username, "password": user.plain_password,
                                       "csrf_token": _token(client)})
    assert resp.status_code == 302
    # Signing out, switching language and registering are forms too.
    assert client.post("/logout").status_code == 400
    assert client.post("/language", data={"lang": "zh"}).status_code == 400
    assert client.post("/register", data={"username": "eve"}).status_code == 400


def test_every_response_carries_security_headers(client):
    for path in ("/", "/healthz", "/no-such-page", "/api/v1/no-such-thing"):
        resp = client.get(path)
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "object-src 'none'" in csp and "frame-ancestors 'self'" in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_pages_have_no_inline_scripts(client, make_user, login):
    login(client, make_user(role="admin"))
    for path in ("/", "/login", "/register", "/settings", "/orgs/", "/search?q=x", "/admin/",
                 "/admin/users", "/admin/audit", "/admin/reports"):
        page = client.get(path).get_data(as_text=True)
        assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None, path
        assert not re.search(r"\son[a-z]+=", page), path


def test_session_cookie_is_httponly_lax_and_secure_over_https(client, make_user):
    user = make_user()
    resp = client.post("/login", data={"login": user.username, "password": user.plain_password})
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("skiff_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    resp = client.post("/login", base_url="https://hub.example",
                       data={"login": user.username, "password": user.plain_password})
    assert "Secure" in resp.headers["Set-Cookie"]
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("app_config", [{"MAX_CONTENT_LENGTH": 1024}], indirect=True)
def test_oversized_bodies_get_413_page_or_json(app, client):
    @app.post("/api/v1/_echo")
    def echo():
        from flask import request

        return {"size": len(request.get_data())}

    resp = client.post("/login", data={"login": "x" * 5000, "password": "y"})
    assert resp.status_code == 413
    assert "Upload too large" in resp.get_data(as_text=True)
    resp = client.post("/api/v1/_echo", data=b"z" * 5000)
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "payload_too_large"
    assert client.post("/api/v1/_echo", data=b"z" * 10).get_json() == {"size": 10}


@pytest.mark.parametrize(
    "app_config",
    [{"RATELIMIT_ENABLED": True, "RATELIMIT_LOGIN": "3 per minute",
      "RATELIMIT_REGISTER": "2 per minute"}],
    indirect=True,
)
def test_login_and_registration_are_rate_limited(client):
    codes = [client.post("/login", data={"login": "x", "password": "y"}).status_code
             for _ in range(4)]
    assert codes == [400, 400, 400, 429]
    resp = client.post("/login", data={"login": "x", "password": "y"})
    assert "Too many requests" in resp.get_data(as_text=True)
    assert int(resp.headers["Retry-After"]) > 0
    assert client.get("/login").status_code == 200  # reading the page is not limited
    codes = [client.post("/register", data={"username": "a"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_ENABLED": True, "RATELIMIT_UPLOADS": "1 per minute"}],
    indirect=True,
)
def test_features_share_named_limits_and_api_gets_json_429(app, client):
    @app.post("/api/v1/_upload")
    @security.limit_uploads
    def api_upload():
        return {"ok": True}

    @app.post("/_upload")
    @security.limit_uploads
    def page_upload():
        return "ok"

    assert client.post("/api/v1/_upload").status_code == 200
    resp = client.post("/_upload")  # the same "uploads" budget
    assert resp.status_code == 429
    resp = client.post("/api/v1/_upload")
    assert resp.status_code == 429
    assert resp.get_json()["error"]["code"] == "too_many_requests"


class _Notebook:
    def __init__(self, id, owner_id, organization_id=None, is_public=False):
        self.id, self.owner_id = id, owner_id
        self.organization_id, self.is_public = organization_id, is_public


def test_object_authorization_helpers(app, client, make_user, login):
    owner, stranger, admin = make_user(), make_user(), make_user(role="admin")
    teacher = make_user(role="teacher")
    private = _Notebook(1, owner.id)
    public = _Notebook(2, owner.id, is_public=True)
    objects = {1: private, 2: public}

    @app.get("/_nb/<int:nb_id>")
    def show(nb_id):
        security.require_visible_or_404(objects.get(nb_id))
        return "visible"

    @app.post("/_nb/<int:nb_id>/delete")
    @login_required
    def delete(nb_id):
        security.require_owner_or_404(objects.get(nb_id))
        return "deleted"

    @app.get("/_teach")
    @security.role_required("teacher")
    def teach():
        return "teaching"

    @app.get("/api/v1/_teach")
    @security.role_required("teacher")
    def api_teach():
        return {"ok": True}

    assert client.get("/_nb/2").status_code == 200
    assert client.get("/_nb/1").status_code == 404  # private: looks missing
    assert client.get("/_nb/3").status_code == 404
    assert client.post("/_nb/1/delete").status_code == 302  # sign in first
    assert client.get("/_teach").status_code == 302
    resp = client.get("/api/v1/_teach")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthorized"

    login(client, stranger)
    assert client.get("/_nb/1").status_code == 404
    assert client.post("/_nb/1/delete").status_code == 404
    assert client.get("/_teach").status_code == 403
    resp = client.get("/api/v1/_teach")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    login(client, owner)
    assert client.get("/_nb/1").get_data(as_text=True) == "visible"
    assert client.post("/_nb/1/delete").get_data(as_text=True) == "deleted"
    login(client, admin)
    assert client.post("/_nb/1/delete").status_code == 200
    assert client.get("/_teach").status_code == 200  # admins hold every role
    login(client, teacher)
    assert client.get("/_teach").status_code == 200


def test_organization_members_manage_organization_objects(app, make_user):
    from hub import db as hub_db
    from hub.accounts import services

    owner, member, stranger = make_user(), make_user(), make_user()
    with app.app_context():
        session = hub_db.session()
        org = services.create_organization(session.get(User, owner.id), "lab", "Lab")
        services.add_member(org, session.get(User, member.id))
        session.commit()
        model = _Notebook(9, owner_id=None, organization_id=org.id)
        assert security.can_manage(model, session.get(User, member.id))
        assert not security.can_manage(model, session.get(User, stranger.id))


@pytest.mark.parametrize("app_config", [{"TESTING": False}], indirect=True)
def test_unexpected_errors_get_a_500_page_or_json(app, client):
    @app.get("/_boom")
    def boom():
        raise RuntimeError("kaboom")

    @app.get("/api/v1/_boom")
    def api_boom():
        raise RuntimeError("kaboom")

    @app.get("/_forbidden")
    def forbidden():
        abort(403)

    resp = client.get("/_boom")
    assert resp.status_code == 500
    page = resp.get_data(as_text=True)
    assert "Something went wrong" in page and "kaboom" not in page
    resp = client.get("/api/v1/_boom")
    assert resp.status_code == 500
    assert resp.get_json() == {"error": {"code": "internal_error", "message":
                               "An unexpected error occurred. It has been logged."}}
    assert "Forbidden" in client.get("/_forbidden").get_data(as_text=True)
    assert client.delete("/").status_code == 405


def test_ids_beyond_a_database_integer_are_not_found(client, make_user, login):
    """2**31 overflows PostgreSQL's integer columns: it must be a 404, never a 500."""
    login(client, make_user(role="admin"))
    for big in (2**31 - 1, 2**31, 2**63):
        assert client.post(f"/admin/users/{big}/role", data={"role": "member"}).status_code == 404
        assert client.post(f"/admin/reports/{big}", data={"decision": "dismiss"}).status_code == 404


def test_nul_characters_are_refused_as_bad_input(client):
    """PostgreSQL text cannot hold NUL: such input is a 400, never a failing query."""
    resp = client.get("/api/v1/models?license=%00")
    assert resp.status_code == 400
    assert "NUL" in resp.get_json()["error"]["message"]
    assert client.get("/search?q=a%00b").status_code == 400
    assert client.post("/login", data={"login": "a\x00", "password": "x"}).status_code == 400
    assert client.get("/search?q=ok").status_code == 200


def test_nul_characters_in_json_bodies_are_refused(client, db, make_user):
    """JSON writes NUL escaped (\\u0000), so the check looks at the decoded strings: keys,
    values and nested ones."""
    from hub import db as hub_db
    from hub.api import tokens

    user = make_user()
    secret = tokens.create_token(user, "nul", ["read", "write"]).secret
    hub_db.session().commit()
    headers = {"Authorization": f"Bearer {secret}"}
    for body in ({"organization": "\x00", "submitter": "0", "system_name": "0"},
                 {"system_name": "ok", "notes": ["a", {"k\x00": 1}]}):
        resp = client.post("/api/v1/systems", json=body, headers=headers)
        assert resp.status_code == 400, resp.get_data(as_text=True)
        assert "NUL" in resp.get_json()["error"]["message"]
    resp = client.post("/api/v1/systems", json={"organization": "no-such-org",
                                                 "submitter": "0", "system_name": "0"},
                       headers=headers)
    assert resp.status_code == 404
