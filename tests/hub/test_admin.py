"""Admin pages: roles, accounts, organizations, the moderation queue and the audit log."""

from __future__ import annotations

from sqlalchemy import select

from hub import audit, search
from hub import db as hub_db
from hub.accounts.models import User
from hub.admin import moderation
from hub.admin.models import Report
from hub.audit.models import AuditEvent


def test_only_admins_reach_the_admin_pages(client, make_user, login):
    pages = ("/admin/", "/admin/users", "/admin/organizations", "/admin/reports", "/admin/audit")
    for path in pages:
        assert client.get(path).status_code == 302
    login(client, make_user(role="teacher"))
    for path in pages:
        assert client.get(path).status_code == 403
    assert client.post("/admin/users/1/role", data={"role": "admin"}).status_code == 403
    login(client, make_user(role="admin"))
    for path in pages:
        assert client.get(path).status_code == 200, path


def test_admin_changes_a_role_and_it_is_audited(app, client, make_user, login):
    admin, user = make_user(role="admin"), make_user()
    login(client, admin)
    page = client.get("/admin/users?q=" + user.username).get_data(as_text=True)
    assert user.email in page and admin.email not in page
    resp = client.post(f"/admin/users/{user.id}/role", data={"role": "partner"})
    assert resp.status_code == 302
    with app.app_context():
        assert hub_db.session().get(User, user.id).role == "partner"
        event = hub_db.session().scalar(
            select(AuditEvent).where(AuditEvent.action == "user.role_change"))
    assert event.actor_name == admin.username
    assert event.target == f"user:{user.id}"
    assert event.details == {"from": "member", "to": "partner"}
    page = client.get("/admin/users?role=partner").get_data(as_text=True)
    assert user.username in page and f'data-user="{admin.username}"' not in page


def test_the_last_admin_keeps_the_role(app, client, make_user, login):
    admin = make_user(role="admin")
    login(client, admin)
    resp = client.post(f"/admin/users/{admin.id}/role", data={"role": "member"},
                       follow_redirects=True)
    assert "The last admin cannot lose the admin role." in resp.get_data(as_text=True)
    with app.app_context():
        assert hub_db.session().get(User, admin.id).role == "admin"


def test_admin_disables_an_account_and_its_sessions_end(app, client, make_user, login):
    admin, user = make_user(role="admin"), make_user()
    theirs = app.test_client()
    login(theirs, user)
    assert theirs.get("/settings").status_code == 200
    login(client, admin)
    client.post(f"/admin/users/{user.id}/active", data={"active": "0"})
    assert theirs.get("/settings").status_code == 302
    client.post(f"/admin/users/{user.id}/active", data={"active": "1"})
    actions = [e.action for e in _events(app)]
    assert actions[-2:] == ["user.disable", "user.enable"]


def _events(app):
    with app.app_context():
        return hub_db.session().scalars(select(AuditEvent).order_by(AuditEvent.id)).all()


def test_audit_log_page_filters_events(app, client, make_user, login):
    admin, user = make_user(role="admin"), make_user(username="zed")
    with app.app_context():
        audit.record("model.delete", target="model:7", actor=hub_db.session().get(User, user.id),
                     details={"name": "tiny-net"})
        audit.record("token.create", target="token:1")
        hub_db.session().commit()
    login(client, admin)
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "model.delete" in page and "token.create" in page and "user.register" in page
    page = client.get("/admin/audit?action=model.").get_data(as_text=True)
    assert "model:7" in page and "name=tiny-net" in page and "token:1" not in page
    page = client.get("/admin/audit?actor=zed").get_data(as_text=True)
    assert "model:7" in page and "token:1" not in page
    page = client.get("/admin/audit?target=token:1").get_data(as_text=True)
    assert "token:1" in page and "model:7" not in page
    page = client.get("/admin/audit?since=2000-01-01&until=2000-01-02").get_data(as_text=True)
    assert "No events match." in page


def test_audit_record_joins_the_callers_transaction(app):
    with app.app_context():
        audit.record("upload", target="blob:abc")
        hub_db.session().rollback()
        audit.record("upload", target="blob:def")
        hub_db.session().commit()
    assert [e.target for e in _events(app)] == ["blob:def"]


class _Store:
    """A tiny reportable feature: the moderation queue drives it through its hooks."""

    def __init__(self):
        self.hidden: dict[str, bool] = {"1": False, "2": False}
        self.public = {"1": True, "2": False}

    def describe(self, ref_id):
        return ("A rude notebook", f"/notebooks/{ref_id}") if ref_id in self.hidden else None

    def hide(self, ref_id, hidden):
        # Like the real features: the search entry follows the object's own visibility.
        self.hidden[ref_id] = hidden
        search.set_visible("test-notebook", ref_id, self.public[ref_id] and not hidden)


def test_moderation_queue_report_hide_and_restore(app, client, make_user, login):
    store = _Store()
    moderation.register_target("test-notebook", "Notebook", store.describe, store.hide)
    try:
        reporter, admin = make_user(), make_user(role="admin")
        with app.app_context():
            search.index("test-notebook", "1", title="A rude notebook", url="/notebooks/1")
            hub_db.session().commit()
        login(client, reporter)
        resp = client.post("/report", data={"kind": "test-notebook", "id": "1", "reason": "Spam",
                                            "next": "/notebooks/1"})
        assert resp.status_code == 302 and resp.headers["Location"] == "/notebooks/1"
        resp = client.post("/report", data={"kind": "test-notebook", "id": "404", "reason": "x"},
                           follow_redirects=True)
        assert "There is no such content to report." in resp.get_data(as_text=True)

        login(client, admin)
        page = client.get("/admin/reports").get_data(as_text=True)
        assert "A rude notebook" in page and "Spam" in page and reporter.username in page
        with app.app_context():
            report = hub_db.session().scalar(select(Report))
        client.post(f"/admin/reports/{report.id}", data={"decision": "hide"})
        assert store.hidden["1"] is True
        with app.app_context():
            assert search.query("rude").total == 0
            assert hub_db.session().get(Report, report.id).status == "hidden"
        assert "No reports here." in client.get("/admin/reports").get_data(as_text=True)
        assert "A rude notebook" in client.get("/admin/reports?status=hidden").get_data(
            as_text=True)
        client.post(f"/admin/reports/{report.id}", data={"decision": "restore"})
        assert store.hidden["1"] is False
        with app.app_context():
            assert search.query("rude").total == 1
        actions = [e.action for e in _events(app)]
        assert {"report.create", "report.hide", "report.restore"} <= set(actions)
    finally:
        moderation.TARGETS.pop("test-notebook")


def test_restoring_private_content_keeps_it_out_of_search(app, client, make_user, login):
    store = _Store()
    moderation.register_target("test-notebook", "Notebook", store.describe, store.hide)
    try:
        reporter, admin = make_user(), make_user(role="admin")
        with app.app_context():
            search.index("test-notebook", "2", title="A secret draft", url="/notebooks/2",
                         visible=False)
            report = moderation.file_report(reporter, "test-notebook", "2", "Spam")
            hub_db.session().commit()
            report_id = report.id
        login(client, admin)
        client.post(f"/admin/reports/{report_id}", data={"decision": "hide"})
        client.post(f"/admin/reports/{report_id}", data={"decision": "restore"})
        assert store.hidden["2"] is False
        with app.app_context():
            assert search.query("secret").total == 0
    finally:
        moderation.TARGETS.pop("test-notebook")


def test_admin_overview_counts(client, make_user, login):
    login(client, make_user(role="admin"))
    make_user()
    page = client.get("/admin/").get_data(as_text=True)
    assert "<strong>2</strong> Users" in page


def test_feature_admin_pages_are_linked_from_the_admin_pages(client, make_user, login):
    login(client, make_user(role="admin"))
    page = client.get("/admin/users").get_data(as_text=True)
    assert 'href="/admin/jobs"' in page  # background jobs, registered by hub.infra
    assert 'href="/admin/jobs"' in client.get("/admin/").get_data(as_text=True)
