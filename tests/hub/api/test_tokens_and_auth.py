"""API tokens: shown once, stored hashed, scoped, expiring, revocable; bearer authentication."""

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from hub import db as hub_db
from hub.api import tokens
from hub.api.models import ApiToken
from hub.db import utcnow


@pytest.fixture
def user(make_user):
    return make_user(username="ada")


def _token(db, user, scopes=("read",), days=30):
    # Services use hub.db.session() of the current app context; requests made by the test
    # client share (and close) it, so the tests always go through hub.db.session() too.
    new = tokens.create_token(user, "test", list(scopes), days)
    hub_db.session().commit()
    return new.secret


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


def test_token_is_prefixed_shown_once_and_stored_as_sha256(client, db, user):
    secret = _token(db, user)
    assert secret.startswith("skf_") and len(secret) > 40
    row = hub_db.session().scalar(select(ApiToken))
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (row.token_hash, row.prefix, row.name)
    listed = client.get("/api/v1/tokens", headers=bearer(secret)).get_json()
    assert listed["total"] == 1
    assert "token" not in listed["items"][0]
    assert listed["items"][0]["prefix"] == secret[4:10]


def test_whoami_with_token(client, db, user):
    body = client.get("/api/v1/me", headers=bearer(_token(db, user))).get_json()
    assert body["username"] == "ada"


@pytest.mark.parametrize("header", ["Bearer skf_nope", "Bearer ", "Basic abc", "skf_x"])
def test_bad_credentials_are_401_json(client, header):
    resp = client.get("/api/v1/me", headers={"Authorization": header})
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "unauthorized"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_missing_token_is_401(client):
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401
    assert "Bearer" in resp.get_json()["error"]["message"]


def test_scopes_are_enforced(client, db, user):
    read_only = _token(db, user, ("read",))
    resp = client.post("/api/v1/tokens", json={"name": "x"}, headers=bearer(read_only))
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "insufficient_scope"
    writer = _token(db, user, ("write",))
    resp = client.post("/api/v1/tokens", json={"name": "ci", "scopes": ["read", "submit"]},
                       headers=bearer(writer))
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["token"].startswith("skf_") and body["scopes"] == ["read", "submit"]
    # write implies read
    assert client.get("/api/v1/me", headers=bearer(writer)).status_code == 200


def test_expired_and_revoked_tokens_stop_working(client, db, user):
    secret = _token(db, user)
    row = hub_db.session().scalar(select(ApiToken))
    row.expires_at = utcnow() - timedelta(seconds=1)
    hub_db.session().commit()
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401
    writer = _token(db, user, ("write",))
    writer_id = hub_db.session().scalar(select(ApiToken.id).where(ApiToken.id != row.id))
    hub_db.session().commit()  # end the test's read transaction before the app writes
    resp = client.delete(f"/api/v1/tokens/{writer_id}", headers=bearer(writer))
    assert resp.status_code == 200 and resp.get_json()["revoked"] is True
    assert client.get("/api/v1/me", headers=bearer(writer)).status_code == 401


def test_cannot_revoke_someone_elses_token(client, db, user, make_user):
    other = make_user(username="bob")
    theirs = tokens.create_token(other, "bob's", ["read"]).token
    hub_db.session().commit()
    resp = client.delete(f"/api/v1/tokens/{theirs.id}", headers=bearer(_token(db, user,
                                                                              ("write",))))
    assert resp.status_code == 404
    assert hub_db.session().get(ApiToken, theirs.id).revoked_at is None


@pytest.mark.parametrize("payload,field", [
    ({"scopes": ["read"]}, "name"),
    ({"name": "x", "scopes": ["admin"]}, "scopes"),
    ({"name": "x", "expires_in_days": 0}, "expires_in_days"),
    ({"name": "x", "scopes": []}, "scopes"),
])
def test_invalid_token_requests_are_422_naming_the_field(client, db, user, payload, field):
    resp = client.post("/api/v1/tokens", json=payload, headers=bearer(_token(db, user,
                                                                             ("write",))))
    assert resp.status_code == 422
    assert field in resp.get_json()["error"]["message"]


def test_non_json_body_is_400(client, db, user):
    resp = client.post("/api/v1/tokens", data="name=x", headers=bearer(_token(db, user,
                                                                              ("write",))))
    assert resp.status_code == 400


def test_token_actions_are_audited(client, db, user):
    from hub.audit.models import AuditEvent

    _token(db, user)
    actions = [e.action for e in hub_db.session().scalars(select(AuditEvent))]
    assert "token.create" in actions


def test_pagination_with_link_headers(client, db, user):
    secret = _token(db, user)
    for i in range(4):
        tokens.create_token(user, f"t{i}", ["read"])
    hub_db.session().commit()
    page1 = client.get("/api/v1/tokens?per_page=2", headers=bearer(secret))
    body = page1.get_json()
    assert (body["total"], body["pages"], len(body["items"])) == (5, 3, 2)
    assert 'rel="next"' in page1.headers["Link"]
    page3 = client.get("/api/v1/tokens?per_page=2&page=3", headers=bearer(secret)).get_json()
    assert len(page3["items"]) == 1
    assert client.get("/api/v1/tokens?page=0", headers=bearer(secret)).status_code == 400
    assert client.get("/api/v1/tokens?per_page=abc", headers=bearer(secret)).status_code == 400


def test_public_profile_has_etag_and_answers_304(client, user):
    first = client.get("/api/v1/users/ada")
    assert first.status_code == 200 and first.headers["ETag"]
    again = client.get("/api/v1/users/ada", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/api/v1/users/nobody").status_code == 404


def test_browser_session_counts_for_reads_only(client, db, user, login):
    login(client, user)
    assert client.get("/api/v1/me").get_json()["username"] == "ada"
    assert client.post("/api/v1/tokens", json={"name": "x"}).status_code == 401


def test_token_page_shows_the_secret_once_and_revokes(client, db, user, login):
    login(client, user)
    page = client.post("/settings/tokens/", data={"name": "laptop", "scopes": ["read", "write"],
                                                  "days": "30"})
    html = page.get_data(as_text=True)
    row = hub_db.session().scalar(select(ApiToken).where(ApiToken.name == "laptop"))
    secret = html.split('id="new-token-secret">')[1].split("<")[0]
    row_id, prefix = row.id, row.prefix
    hub_db.session().commit()
    assert hashlib.sha256(secret.encode()).hexdigest() == row.token_hash
    listing = client.get("/settings/tokens/").get_data(as_text=True)
    assert secret not in listing and f"skf_{prefix}" in listing
    client.post(f"/settings/tokens/{row_id}/revoke")
    assert hub_db.session().get(ApiToken, row_id).revoked_at is not None
