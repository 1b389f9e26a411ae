"""Alembic environment: runs against the engine or connection that hub.migrations passes in."""

from __future__ import annotations

from alembic import context

from hub.db import Base, load_models
from hub.migrations import include_object

load_models()
target_metadata = Base.metadata
config = context.config


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    engine = config.attributes["engine"]
    with engine.connect() as conn:
        run_migrations(conn)
        conn.commit()
