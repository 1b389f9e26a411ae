"""The Alembic migrations reach every head and build exactly the tables the models describe."""

from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, inspect, text
from sqlalchemy.engine import make_url

from hub import db as hub_db
from hub.migrations import alembic_config, include_object, upgrade
from tests.hub.conftest import PG_URL


@pytest.fixture
def fresh_engine(tmp_path):
    """An empty database: a new SQLite file, or a new PostgreSQL database."""
    if not PG_URL:
        engine = hub_db.make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
        yield engine
        engine.dispose()
        return
    base = make_url(PG_URL)
    name = f"{base.database}_mig_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = hub_db.make_engine(base.set(database=name).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _differences(engine, metadata):
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": include_object, "compare_type": True}
        )
        return compare_metadata(context, metadata)


def test_upgrade_heads_builds_exactly_the_models(fresh_engine):
    hub_db.load_models()
    upgrade(fresh_engine)
    assert _differences(fresh_engine, hub_db.Base.metadata) == []
    tables = set(inspect(fresh_engine).get_table_names())
    assert {"users", "organizations", "memberships", "audit_events", "reports",
            "search_documents"} <= tables


def test_comparison_notices_a_table_without_a_migration(fresh_engine):
    hub_db.load_models()
    upgrade(fresh_engine)
    extra = MetaData(naming_convention=hub_db.NAMING_CONVENTION)
    for table in hub_db.Base.metadata.sorted_tables:
        table.to_metadata(extra)
    Table("only_in_models", extra, Column("id", Integer, primary_key=True))
    diffs = _differences(fresh_engine, extra)
    assert [d[0] for d in diffs] == ["add_table"]


def test_upgrade_twice_is_a_no_op_and_reaches_every_head(fresh_engine):
    upgrade(fresh_engine)
    upgrade(fresh_engine)
    script = ScriptDirectory.from_config(alembic_config(fresh_engine))
    with fresh_engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    applied = {r.revision for r in script.iterate_revisions(tuple(current), "base")}
    assert applied == {r.revision for r in script.walk_revisions()}


def test_every_migration_follows_the_naming_convention(fresh_engine):
    script = ScriptDirectory.from_config(alembic_config(fresh_engine))
    for revision in script.walk_revisions():
        filename = os.path.basename(revision.path)
        feature, number = revision.revision.rsplit("_", 1)
        assert number.isdigit() and len(number) == 4, revision.revision
        assert filename.startswith(f"{revision.revision}_"), filename
        if revision.down_revision is None:
            assert revision.branch_labels == {feature}, filename
