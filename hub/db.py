"""The hub's database: one SQLAlchemy 2 engine per app, one session per request.

How to use it (the one way)::

    from hub import db

    user = db.session().get(User, user_id)
    db.session().add(thing)
    db.session().commit()

``db.session()`` returns the session of the current application context (a request, a CLI
command, a job run inside ``app.app_context()``); it is closed, and anything uncommitted rolled
back, when the request or context ends. Models subclass :class:`Base` and live in
``hub/<feature>/models.py``; :func:`load_models` imports them all so that Alembic sees them.

SQLite is tuned for a busy small site: WAL journal, ``foreign_keys=ON``, a 30 s busy timeout,
and write transactions opened with ``BEGIN IMMEDIATE`` so that concurrent writers queue for the
write lock instead of failing with "database is locked". A session opened during a GET/HEAD/
OPTIONS request reads with a plain deferred ``BEGIN`` (readers never wait in WAL mode); every
other session (POST/PUT/PATCH/DELETE requests, CLI commands, jobs, tests) writes with
``BEGIN IMMEDIATE``. A GET view that must write calls ``db.session(write=True)`` before its
first query.

Keep write transactions short: read uploads, hash files and call other services before the
first query or after committing, since on SQLite an open write transaction holds the
database's one write lock (the signed-in user is loaded in a transaction of its own).
"""

from __future__ import annotations

import importlib
import importlib.util
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

#: Modules whose models are always loaded, before the features of ``hub.FEATURES``.
CORE_MODEL_PACKAGES = ("accounts", "audit", "search", "admin", "infra")

# Stable constraint names: Alembic's batch mode on SQLite and PostgreSQL both need them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Base(DeclarativeBase):
    """Declarative base of every hub table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        # SQLite compares timestamps as text: keep one format (naive UTC) there.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the one clock of the hub's tables)."""
    return datetime.now(UTC)


class Database:
    """The engine and session factories of one app (``app.extensions['skiff_db']``)."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = make_url(url)
        self.engine = make_engine(url, **engine_options)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        writer = self.engine.execution_options(skiff_begin="IMMEDIATE")
        # expire_on_commit=False: objects stay readable after commit, in templates and tests.
        self.reading = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.writing = sessionmaker(bind=writer, expire_on_commit=False)

    def dispose(self) -> None:
        self.engine.dispose()


def make_engine(url: str, **options: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout and immediate writes."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        options.setdefault("pool_pre_ping", True)
        return create_engine(url, **options)

    database = parsed.database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        # Keep a connection per server thread: beyond the pool's default of 5, connections
        # would be opened (PRAGMAs and all) and closed again on every request, each with
        # an empty page cache.
        options.setdefault("pool_size", 20)
        options.setdefault("max_overflow", 20)
    connect_args = options.pop("connect_args", {})
    connect_args.setdefault("timeout", 30)
    connect_args.setdefault("check_same_thread", False)
    engine = create_engine(url, connect_args=connect_args, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the driver, decide when a transaction begins (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("skiff_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def init_app(app: Flask) -> Database:
    """Attach a :class:`Database` built from ``app.config['DATABASE_URL']`` to ``app``."""
    options = app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})
    database = Database(app.config["DATABASE_URL"], **options)
    app.extensions["skiff_db"] = database
    app.teardown_request(_close_request_session)
    app.teardown_appcontext(_close_request_session)
    return database


def get_database(app: Flask | None = None) -> Database:
    """The :class:`Database` of ``app`` (default: the current app)."""
    return (app or current_app).extensions["skiff_db"]


def session(write: bool | None = None) -> Session:
    """The session of the current request or application context.

    ``write=True`` asks for a write transaction (``BEGIN IMMEDIATE`` on SQLite) even during a
    GET request; it must come before the context's first query.
    """
    current = g.get("_skiff_session")
    if current is not None:
        return current
    database = get_database()
    if write is None:
        write = not (has_request_context() and request.method in _READ_METHODS)
    current = (database.writing if write else database.reading)()
    g._skiff_session = current
    return current


def _close_request_session(_exc: BaseException | None = None) -> None:
    current = g.pop("_skiff_session", None)
    if current is not None:
        current.close()


def load_models() -> list[str]:
    """Import every ``hub.<package>.models`` module so ``Base.metadata`` knows every table.

    Core packages come first, then the features named in ``hub.FEATURES``. Returns the names of
    the modules imported.
    """
    from hub import FEATURES

    loaded = []
    for name in dict.fromkeys((*CORE_MODEL_PACKAGES, *FEATURES)):
        module = f"hub.{name}.models"
        try:
            spec = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            continue
        if spec is None:
            continue
        importlib.import_module(module)
        loaded.append(module)
    return loaded


def migrate(app: Flask, revision: str = "heads") -> None:
    """Upgrade the app's database to ``revision`` (default: every branch head)."""
    from hub.migrations import upgrade

    upgrade(get_database(app).engine, revision)
