"""Fixtures for the hub's tests (every hub test module can use these).

* ``app`` — a fresh app on a fresh, fully migrated database per test. SQLite by default (a copy
  of a per-worker migrated template file); PostgreSQL when ``SKIFF_TEST_DATABASE_URL`` is set
  (one database per xdist worker, migrated once, every table emptied before each test).
  CSRF checks and rate limits are off; a module turns them back on by overriding
  ``app_config``::

      @pytest.fixture
      def app_config():
          return {"WTF_CSRF_ENABLED": True}

  or for one test: ``@pytest.mark.parametrize("app_config", [{...}], indirect=True)``.

* ``client`` — Flask's test client; ``db`` — ``hub.db.session()`` inside an app context.
* ``make_user(role="member", username=None, password=TEST_PASSWORD, **fields)`` — a saved user;
  ``user.plain_password`` holds the password.
* ``login(client, user)`` — signs ``client`` in as ``user`` (without the login form).
* ``live_server`` — the app served over real HTTP on a free localhost port in a thread (CSRF on);
  ``live_server.url``. ``browser_page`` — a fresh Playwright page in Debian's chromium.
"""

from __future__ import annotations

import itertools
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from hub import create_app
from hub import db as hub_db
from hub.migrations import upgrade

TEST_PASSWORD = "correct-horse-battery"
PG_URL = os.environ.get("SKIFF_TEST_DATABASE_URL", "")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory):
    """Keep tests away from ./instance and from a developer's own DATABASE_URL etc."""
    saved = {k: os.environ.pop(k) for k in ("DATABASE_URL", "STORAGE_URL", "QUEUE_URL",
                                            "SECRET_KEY") if k in os.environ}
    os.environ["SKIFF_INSTANCE"] = str(tmp_path_factory.mktemp("default-instance"))
    yield
    os.environ.pop("SKIFF_INSTANCE", None)
    os.environ.update(saved)


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """A migrated database for this worker: a SQLite file to copy, or a PostgreSQL URL."""
    if PG_URL:
        base = make_url(PG_URL)
        name = f"{base.database}_{_worker()}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
        engine = hub_db.make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        return
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = hub_db.make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    yield path


_pg_engines: dict = {}


def fresh_database_url(template, directory: Path) -> str:
    """A URL of an empty, migrated database made from ``template`` for one test."""
    if PG_URL:
        # DELETE, children first, is far quicker than TRUNCATE on a handful of small tables.
        hub_db.load_models()
        engine = _pg_engines.get(template) or _pg_engines.setdefault(
            template, create_engine(template, poolclass=NullPool))
        with engine.begin() as conn:
            for table in reversed(hub_db.Base.metadata.sorted_tables):
                conn.execute(table.delete())
        return template
    target = directory / "skiff.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def app_config(request) -> dict:
    """Extra settings for the ``app`` fixture: override the fixture in a module, or give them
    per test with ``@pytest.mark.parametrize("app_config", [{...}], indirect=True)``."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
def app(database_template, tmp_path, app_config):
    instance = tmp_path / "instance"
    instance.mkdir()
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": fresh_database_url(database_template, instance),
        "STORAGE_URL": str(instance / "blobs"),
        "QUEUE_URL": f"sqlite:///{instance / 'jobs.db'}",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        # Still scrypt, with a small work factor: hashing dominates account tests otherwise.
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
    }
    config.update(app_config)
    application = create_app(config)
    yield application
    hub_db.get_database(application).dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app):
    """``hub.db.session()`` of an application context held open for the test."""
    with app.app_context():
        yield hub_db.session()


@pytest.fixture
def make_user(app):
    """Factory of saved users: ``make_user(role="teacher")``."""
    from hub.accounts import services

    counter = itertools.count(1)

    def make(role: str = "member", username: str | None = None,
             password: str = TEST_PASSWORD, email: str | None = None, **fields):
        username = username or f"{role}{next(counter)}"
        with app.app_context():
            user = services.create_user(
                username, email or f"{username}@example.org", password, role=role, **fields
            )
            hub_db.session().commit()
        user.plain_password = password
        return user

    return make


def sign_in(client, user) -> None:
    """Mark ``client``'s session as signed in as ``user`` (what a successful login does)."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


@pytest.fixture
def login():
    """``login(client, user)``: sign the test client in as ``user``."""
    return sign_in


@dataclass
class LiveServer:
    url: str
    app: object


@pytest.fixture
def live_server(app):
    """Serve ``app`` over HTTP on a free localhost port (CSRF checks on, as in production)."""
    from werkzeug.serving import make_server

    app.config["WTF_CSRF_ENABLED"] = True
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium driven by Playwright (one browser per test worker)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium):
    """A fresh page (own cookies) in English; closed after the test."""
    context = chromium.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
