"""The database layer: SQLite tuning, concurrent writers, sessions, timestamps."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from hub import db as hub_db
from hub.accounts.models import User
from tests.hub.conftest import PG_URL

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="SQLite connection settings")


@sqlite_only
def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(app):
    engine = hub_db.get_database(app).engine
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_foreign_keys_are_enforced(app):
    from sqlalchemy.exc import IntegrityError

    from hub.accounts.models import Membership

    with app.app_context():
        hub_db.session().add(Membership(user_id=12345, organization_id=67890, role="member"))
        with pytest.raises(IntegrityError):
            hub_db.session().commit()


def _counter_table(engine):
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER)"))
        conn.execute(text("INSERT INTO counter (id, value) VALUES (1, 0)"))


def test_concurrent_read_then_write_transactions_all_succeed_without_lost_updates(app):
    """Each writer reads the counter, then writes it back plus one: the classic lost-update
    and "database is locked" case. Write sessions must queue, not fail."""
    database = hub_db.get_database(app)
    _counter_table(database.engine)
    threads, per_thread = 6, 15
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def writer():
        try:
            start.wait()
            for _ in range(per_thread):
                with database.writing() as session:
                    value = session.execute(text("SELECT value FROM counter WHERE id = 1")).scalar()
                    session.execute(
                        text("UPDATE counter SET value = :v WHERE id = 1"), {"v": value + 1}
                    )
                    session.commit()
        except BaseException as exc:  # collected and reported by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=writer) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not errors, errors
    with database.engine.connect() as conn:
        if database.is_sqlite:
            final = conn.execute(text("SELECT value FROM counter WHERE id = 1")).scalar()
            assert final == threads * per_thread
        conn.execute(text("DROP TABLE counter"))
        conn.commit()


def test_session_is_scoped_to_the_request_and_closed_after(app):
    seen = {}

    @app.get("/_probe")
    def probe():
        seen["a"] = hub_db.session()
        seen["b"] = hub_db.session()
        return "ok"

    client = app.test_client()
    assert client.get("/_probe").status_code == 200
    first = seen["a"]
    assert seen["a"] is seen["b"]
    assert client.get("/_probe").status_code == 200
    assert seen["a"] is not first


@sqlite_only
def test_get_requests_read_deferred_and_posts_write_immediately(app):
    modes = {}

    @app.route("/_mode", methods=["GET", "POST"])
    def mode():
        from flask import request

        session = hub_db.session()
        modes[request.method] = session.get_bind().get_execution_options().get("skiff_begin")
        return "ok"

    client = app.test_client()
    client.get("/_mode")
    client.post("/_mode")
    assert modes == {"GET": None, "POST": "IMMEDIATE"}


def test_timestamps_come_back_timezone_aware_in_utc(app, make_user):
    user = make_user()
    with app.app_context():
        loaded = hub_db.session().get(User, user.id)
        assert loaded.created_at.tzinfo is not None
        assert abs(loaded.created_at - datetime.now(UTC)) < timedelta(minutes=5)
        later = hub_db.session().scalars(
            select(User).where(User.created_at > datetime.now(UTC) - timedelta(hours=1))
        ).all()
        assert [u.id for u in later] == [user.id]


def test_unsaved_changes_are_rolled_back_when_the_context_ends(app):
    with app.app_context():
        hub_db.session().add(
            User(username="ghost", email="g@example.org", password_hash="x", display_name="",
                 bio="", role="member", is_active=True, auth_epoch=0)
        )
        hub_db.session().flush()
    with app.app_context():
        assert hub_db.session().scalar(select(User).where(User.username == "ghost")) is None




@sqlite_only
def test_loading_the_signed_in_user_does_not_hold_the_write_lock(app, make_user, login):
    """A POST view that streams a large upload must not block other writers meanwhile."""
    from flask_login import current_user

    user = make_user()
    database = hub_db.get_database(app)
    seen = {}

    @app.post("/_slow-upload")
    def slow_upload():
        assert current_user.is_authenticated  # loads the user
        # Meanwhile, another writer (a job, another request) gets the lock at once.
        with database.writing() as other:
            other.execute(text("UPDATE users SET bio = 'x' WHERE id = :id"), {"id": user.id})
            other.commit()
            seen["other_wrote"] = True
        return "ok"

    client = app.test_client()
    login(client, user)
    assert client.post("/_slow-upload").status_code == 200
    assert seen == {"other_wrote": True}
