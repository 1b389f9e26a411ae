"""Alembic migrations of the hub's database (conventions in ``hub/migrations/README.md``).

Run them with ``hub.db.migrate(app)`` (``upgrade heads``), ``python -m hub.setup_site`` or
``flask --app app db-upgrade``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

HERE = Path(__file__).resolve().parent


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave out what the models do not describe: the full-text index tables and indexes."""
    if type_ == "table" and name and name.startswith("search_fts"):
        return False
    if type_ == "index" and name == "search_documents_fts":
        return False
    return True


def alembic_config(engine: Engine) -> Config:
    """An Alembic ``Config`` bound to ``engine`` (no ``alembic.ini`` needed)."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(HERE / "versions"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Upgrade the database behind ``engine`` to ``revision`` (every branch head by default).

    On SQLite, foreign-key enforcement is switched off while tables are rebuilt by batch
    operations (a rebuilt parent table would otherwise cascade into its children), and checked
    afterwards.
    """
    config = alembic_config(engine)
    if engine.dialect.name != "sqlite":
        command.upgrade(config, revision)
        return
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        # Outside any transaction (the driver is in autocommit mode), so the pragma takes effect.
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            problems = raw.execute("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise RuntimeError(f"migration left dangling foreign keys: {problems[:5]}")
        finally:
            raw.execute("PRAGMA foreign_keys=ON")
