"""notebooks: notebooks, versions, cached renders, runs, likes and comments

Revision ID: notebooks_0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "notebooks_0001"
down_revision = None
branch_labels = ("notebooks",)
depends_on = "accounts_0001"


def upgrade() -> None:
    op.create_table(
        "notebook_renders",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("renderer", sa.String(length=32), nullable=False),
        sa.Column("html_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_notebook_renders")),
    )
    op.create_table(
        "notebooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tags", sa.String(length=500), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("is_hidden", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_notebooks_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notebooks")),
        sa.UniqueConstraint("owner_id", "slug", name=op.f("uq_notebooks_owner_id_slug")),
    )
    op.create_index(op.f("ix_notebooks_owner_id"), "notebooks", ["owner_id"], unique=False)
    op.create_table(
        "notebook_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notebook_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("is_hidden", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_notebook_comments_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["notebook_id"],
            ["notebooks.id"],
            name=op.f("fk_notebook_comments_notebook_id_notebooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notebook_comments")),
    )
    op.create_index(
        op.f("ix_notebook_comments_notebook_id"), "notebook_comments", ["notebook_id"], unique=False
    )
    op.create_table(
        "notebook_likes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notebook_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["notebook_id"],
            ["notebooks.id"],
            name=op.f("fk_notebook_likes_notebook_id_notebooks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notebook_likes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notebook_likes")),
        sa.UniqueConstraint(
            "notebook_id", "user_id", name=op.f("uq_notebook_likes_notebook_id_user_id")
        ),
    )
    op.create_index(
        op.f("ix_notebook_likes_notebook_id"), "notebook_likes", ["notebook_id"], unique=False
    )
    op.create_table(
        "notebook_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notebook_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("cell_count", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("run_of_id", sa.Integer(), nullable=True),
        sa.Column("render_state", sa.String(length=16), nullable=False),
        sa.Column("render_message", sa.Text(), nullable=False),
        sa.Column("render_job_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_notebook_versions_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["notebook_id"],
            ["notebooks.id"],
            name=op.f("fk_notebook_versions_notebook_id_notebooks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_of_id"],
            ["notebook_versions.id"],
            name=op.f("fk_notebook_versions_run_of_id_notebook_versions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notebook_versions")),
        sa.UniqueConstraint(
            "notebook_id", "number", name=op.f("uq_notebook_versions_notebook_id_number")
        ),
    )
    op.create_index(
        op.f("ix_notebook_versions_digest"), "notebook_versions", ["digest"], unique=False
    )
    op.create_index(
        op.f("ix_notebook_versions_notebook_id"), "notebook_versions", ["notebook_id"], unique=False
    )
    op.create_table(
        "notebook_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notebook_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("result_version_id", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failed_cell", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("framework_version", sa.String(length=40), nullable=False),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["notebook_id"],
            ["notebooks.id"],
            name=op.f("fk_notebook_runs_notebook_id_notebooks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_notebook_runs_requested_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["result_version_id"],
            ["notebook_versions.id"],
            name=op.f("fk_notebook_runs_result_version_id_notebook_versions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["notebook_versions.id"],
            name=op.f("fk_notebook_runs_version_id_notebook_versions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notebook_runs")),
    )
    op.create_index(
        op.f("ix_notebook_runs_notebook_id"), "notebook_runs", ["notebook_id"], unique=False
    )


def downgrade() -> None:
    for name in (
        "notebook_runs",
        "notebook_versions",
        "notebook_likes",
        "notebook_comments",
        "notebooks",
        "notebook_renders",
    ):
        op.drop_table(name)
