"""Organizations: create, add and remove members, who may do what."""

from __future__ import annotations

from sqlalchemy import select

from hub import db as hub_db
from hub.accounts.models import Membership, Organization
from hub.audit.models import AuditEvent


def _members(app, slug):
    with app.app_context():
        org = hub_db.session().scalar(select(Organization).where(Organization.slug == slug))
        return {(m.user.username, m.role) for m in org.memberships}


def _create(client, slug="acme-chips", name="Acme Chips", vendor=True):
    data = {"slug": slug, "name": name, "description": "We make chips."}
    if vendor:
        data["is_vendor"] = "y"
    return client.post("/orgs/new", data=data)


def test_owner_creates_an_organization_and_manages_members(app, client, make_user, login):
    owner, member = make_user(role="partner"), make_user()
    login(client, owner)
    resp = _create(client)
    assert resp.status_code == 302 and resp.headers["Location"] == "/orgs/acme-chips"
    page = client.get("/orgs/acme-chips").get_data(as_text=True)
    assert "Acme Chips" in page and "Vendor" in page and "Add a member" in page
    assert _members(app, "acme-chips") == {(owner.username, "owner")}

    client.post("/orgs/acme-chips/members", data={"username": member.username, "role": "member"})
    assert _members(app, "acme-chips") == {(owner.username, "owner"), (member.username, "member")}
    # Adding twice is refused with a message, not an error page.
    resp = client.post("/orgs/acme-chips/members", data={"username": member.username,
                                                         "role": "member"}, follow_redirects=True)
    assert "already a member" in resp.get_data(as_text=True)

    client.post(f"/orgs/acme-chips/members/{member.username}/remove")
    assert _members(app, "acme-chips") == {(owner.username, "owner")}
    # The owner cannot be removed.
    resp = client.post(f"/orgs/acme-chips/members/{owner.username}/remove", follow_redirects=True)
    assert "The owner cannot be removed" in resp.get_data(as_text=True)
    with app.app_context():
        actions = hub_db.session().scalars(select(AuditEvent.action)).all()
    assert {"org.create", "org.member_add", "org.member_remove"} <= set(actions)


def test_members_cannot_manage_and_strangers_get_403(app, client, make_user, login):
    owner, member, stranger = make_user(), make_user(), make_user()
    login(client, owner)
    _create(client, vendor=False)
    client.post("/orgs/acme-chips/members", data={"username": member.username, "role": "member"})

    other = app.test_client()
    login(other, stranger)
    resp = other.post("/orgs/acme-chips/members", data={"username": stranger.username})
    assert resp.status_code == 403
    resp = other.post(f"/orgs/acme-chips/members/{member.username}/remove")
    assert resp.status_code == 403
    assert "Add a member" not in other.get("/orgs/acme-chips").get_data(as_text=True)

    login(other, member)
    assert other.post("/orgs/acme-chips/members",
                      data={"username": stranger.username}).status_code == 403
    # A member may leave on their own.
    other.post(f"/orgs/acme-chips/members/{member.username}/remove")
    assert _members(app, "acme-chips") == {(owner.username, "owner")}


def test_organization_input_is_validated(app, client, make_user, login):
    login(client, make_user())
    assert _create(client, slug="Bad Slug!").status_code == 400
    assert _create(client, slug="ok-slug").status_code == 302
    resp = _create(client, slug="ok-slug")
    assert resp.status_code == 400 and "That short name is taken." in resp.get_data(as_text=True)
    with app.app_context():
        assert hub_db.session().scalar(select(Membership.id).limit(1)) is not None


def test_anonymous_visitors_see_orgs_but_cannot_create(client):
    assert client.get("/orgs/").status_code == 200
    resp = client.get("/orgs/new")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert client.get("/orgs/missing").status_code == 404
