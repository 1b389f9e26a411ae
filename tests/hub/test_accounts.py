"""Accounts: register, sign in and out, passwords, profiles, the create-admin command."""

from __future__ import annotations

from sqlalchemy import select

from hub import db as hub_db
from hub.accounts import services
from hub.accounts.models import User
from hub.audit.models import AuditEvent
from hub.migrations import upgrade


def app_for(instance):
    from hub import create_app

    return create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": "cli-test",
                       "DATABASE_URL": f"sqlite:///{instance / 'skiff.db'}"})


def _actions(app) -> list[str]:
    with app.app_context():
        return list(hub_db.session().scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def _register(client, username="alice", password="a-long-password", **extra):
    data = {"username": username, "email": f"{username}@example.org", "password": password,
            "confirm": password, **extra}
    return client.post("/register", data=data)


def test_register_signs_in_and_hashes_the_password(app, client):
    resp = _register(client, "Alice", display_name="Alice Liddell")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/users/alice"
    page = client.get("/users/alice").get_data(as_text=True)
    assert "Alice Liddell" in page
    assert "Sign out" in page  # signed in
    with app.app_context():
        user = hub_db.session().scalar(select(User).where(User.username == "alice"))
        assert user.role == "member"
        assert "a-long-password" not in user.password_hash
        assert user.password_hash.startswith("scrypt:")
        assert user.check_password("a-long-password")
    assert _actions(app) == ["user.register", "user.login"]


def test_register_rejects_bad_input_and_duplicates(app, client, make_user):
    make_user(username="taken")
    cases = [
        ({"username": "ab"}, "Usernames are 3 to 32"),
        ({"username": "taken"}, "That username is taken."),
        ({"password": "short", "confirm": "short"}, "at least 10 characters"),
        ({"confirm": "something-else"}, "The passwords differ."),
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"email": "taken@example.org"}, "An account with that email already exists."),
    ]
    for change, message in cases:
        data = {"username": "newbie", "email": "newbie@example.org",
                "password": "a-long-password", "confirm": "a-long-password", **change}
        resp = client.post("/register", data=data)
        assert resp.status_code == 200, change
        assert message in resp.get_data(as_text=True), change
    with app.app_context():
        assert hub_db.session().scalar(select(User).where(User.username == "newbie")) is None


def test_login_with_username_or_email_and_logout(app, client, make_user):
    user = make_user(username="bob")
    resp = client.post("/login", data={"login": "BOB", "password": user.plain_password})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert "bob" in client.get("/").get_data(as_text=True)
    resp = client.post("/logout")
    assert resp.status_code == 302
    assert client.get("/settings").status_code == 302  # signed out: sent to the login page
    resp = client.post("/login", data={"login": "bob@example.org",
                                       "password": user.plain_password, "next": "/settings"})
    assert resp.headers["Location"] == "/settings"
    assert _actions(app)[-3:] == ["user.login", "user.logout", "user.login"]


def test_failed_login_is_refused_and_audited(app, client, make_user):
    make_user(username="carol")
    resp = client.post("/login", data={"login": "carol", "password": "wrong-password"})
    assert resp.status_code == 400
    assert "Wrong username or password." in resp.get_data(as_text=True)
    resp = client.post("/login", data={"login": "nobody", "password": "whatever"})
    assert resp.status_code == 400
    with app.app_context():
        events = hub_db.session().scalars(
            select(AuditEvent).where(AuditEvent.action == "user.login_failed")
        ).all()
    assert [e.details["login"] for e in events] == ["carol", "nobody"]
    assert events[0].target.startswith("user:") and events[1].target == ""
    assert events[0].ip == "127.0.0.1"


def test_login_never_redirects_off_site(client, make_user):
    user = make_user()
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        resp = client.post("/login", data={"login": user.username,
                                           "password": user.plain_password, "next": target})
        assert resp.headers["Location"] == "/", target
        client.post("/logout")


def test_disabled_accounts_cannot_sign_in(app, client, make_user):
    user = make_user()
    with app.app_context():
        hub_db.session().get(User, user.id).is_active = False
        hub_db.session().commit()
    resp = client.post("/login", data={"login": user.username, "password": user.plain_password})
    assert resp.status_code == 400


def test_change_password_signs_out_other_sessions(app, make_user, login):
    user = make_user()
    here, elsewhere = app.test_client(), app.test_client()
    login(here, user)
    login(elsewhere, user)
    resp = here.post("/settings/password", data={
        "current_password": "wrong", "new_password": "new-long-password",
        "confirm": "new-long-password"})
    assert resp.status_code == 400
    assert "The current password is wrong." in resp.get_data(as_text=True)
    resp = here.post("/settings/password", data={
        "current_password": user.plain_password, "new_password": "new-long-password",
        "confirm": "new-long-password"})
    assert resp.status_code == 302
    assert here.get("/settings").status_code == 200  # this session renewed
    assert elsewhere.get("/settings").status_code == 302  # the other one ended
    fresh = app.test_client()
    resp = fresh.post("/login", data={"login": user.username, "password": "new-long-password"})
    assert resp.status_code == 302
    assert "user.password_change" in _actions(app)


def test_profile_shows_sections_filled_by_features(app, client, make_user):
    from hub.accounts import profile

    teacher = make_user(role="teacher", display_name="Ms Teach")
    profile.register_section(
        "test-taught",
        "Courses taught",
        lambda user, viewer: [profile.ProfileItem("Intro to autograd", "/courses/intro")]
        if user.role == "teacher" else [],
        order=10,
    )
    try:
        page = client.get(f"/users/{teacher.username}").get_data(as_text=True)
        assert "Courses taught" in page and "Intro to autograd" in page
        other = make_user()
        page = client.get(f"/users/{other.username}").get_data(as_text=True)
        assert "Courses taught" not in page
    finally:
        profile.SECTIONS.pop("test-taught")
    assert client.get("/users/no-such-user").status_code == 404


def test_profile_settings_are_saved(app, client, make_user, login):
    user = make_user()
    login(client, user)
    resp = client.post("/settings", data={"display_name": "Dora", "bio": "Loves <b>tensors</b>"})
    assert resp.status_code == 302
    page = client.get(f"/users/{user.username}").get_data(as_text=True)
    assert "Dora" in page
    assert "Loves &lt;b&gt;tensors&lt;/b&gt;" in page  # escaped, never rendered as HTML


def test_create_admin_command(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "--username", "admin", "--email",
                                 "admin@example.org", "--password", "admin-password-1"])
    assert result.exit_code == 0, result.output
    assert "Created admin admin" in result.output
    with app.app_context():
        user = services.find_user("admin")
        assert user.role == "admin" and user.check_password("admin-password-1")
    result = runner.invoke(args=["create-admin", "--username", "xavier", "--email", "bad",
                                 "--password", "admin-password-1"])
    assert result.exit_code != 0
    assert "valid email" in result.output


def test_create_admin_promotes_an_existing_account(app, make_user):
    user = make_user(username="dave")
    result = app.test_cli_runner().invoke(args=["create-admin", "--username", "dave", "--email",
                                                "dave@example.org", "--password", "ignored-pw-1"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert hub_db.session().get(User, user.id).role == "admin"


def test_flask_command_line_creates_an_admin(tmp_path):
    """``flask --app app create-admin`` as an operator runs it, on a fresh instance."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "SKIFF_INSTANCE": str(tmp_path), "SECRET_KEY": "cli-test"}
    env.pop("DATABASE_URL", None)
    flask = [sys.executable, "-m", "flask", "--app", str(root / "app.py")]
    engine = hub_db.make_engine(f"sqlite:///{tmp_path / 'skiff.db'}")
    upgrade(engine)  # what `flask --app app db-upgrade` does; in-process to keep the test quick
    engine.dispose()
    out = subprocess.run(
        [*flask, "create-admin", "--username", "boss", "--email", "boss@example.org",
         "--password", "boss-password-1"],
        env=env, check=True, capture_output=True, text=True, cwd=root,
    ).stdout
    assert "Created admin boss" in out
    with app_for(tmp_path).app_context():
        assert services.find_user("boss").role == "admin"


def test_db_upgrade_command_brings_a_database_to_head(tmp_path):
    from sqlalchemy import inspect

    app = app_for(tmp_path)
    result = app.test_cli_runner().invoke(args=["db-upgrade"])
    assert result.exit_code == 0, result.output
    assert "Database is up to date." in result.output
    assert "users" in inspect(hub_db.get_database(app).engine).get_table_names()
    hub_db.get_database(app).dispose()
