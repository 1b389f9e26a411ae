"""search: the site-wide search index

On SQLite an FTS5 table ``search_fts`` mirrors ``search_documents`` through triggers; on
PostgreSQL a GIN index over a ``tsvector`` expression serves the same queries.

Revision ID: search_0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "search_0001"
down_revision = None
branch_labels = ("search",)
depends_on = None

PG_VECTOR = (
    "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(description, '') || ' ' "
    "|| coalesce(tags, ''))"
)


def upgrade() -> None:
    op.create_table(
        "search_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ref_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tags", sa.String(length=500), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_documents")),
        sa.UniqueConstraint("kind", "ref_id", name=op.f("uq_search_documents_kind_ref_id")),
    )
    op.create_index(op.f("ix_search_documents_kind"), "search_documents", ["kind"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5("
            "title, description, tags, content='search_documents', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN "
            "INSERT INTO search_fts(rowid, title, description, tags) "
            "VALUES (new.id, new.title, new.description, new.tags); END"
        )
        op.execute(
            "CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN "
            "INSERT INTO search_fts(search_fts, rowid, title, description, tags) "
            "VALUES ('delete', old.id, old.title, old.description, old.tags); END"
        )
        op.execute(
            "CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN "
            "INSERT INTO search_fts(search_fts, rowid, title, description, tags) "
            "VALUES ('delete', old.id, old.title, old.description, old.tags); "
            "INSERT INTO search_fts(rowid, title, description, tags) "
            "VALUES (new.id, new.title, new.description, new.tags); END"
        )
    elif dialect == "postgresql":
        op.execute(f"CREATE INDEX search_documents_fts ON search_documents USING GIN ({PG_VECTOR})")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("search_documents_ai", "search_documents_ad", "search_documents_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS search_documents_fts")
    op.drop_table("search_documents")
