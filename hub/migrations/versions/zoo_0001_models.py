"""zoo: models, immutable versions and files, tags, likes, comments, references

Revision ID: zoo_0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "zoo_0001"
down_revision = None
branch_labels = ("zoo",)
depends_on = "accounts_0001"


def upgrade() -> None:
    op.create_table(
        "zoo_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("license", sa.String(length=64), nullable=False),
        sa.Column("tags", sa.String(length=600), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("is_hidden", sa.Boolean(), nullable=False),
        sa.Column("latest_number", sa.Integer(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("validation_status", sa.String(length=16), nullable=False),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.Column("likes", sa.Integer(), nullable=False),
        sa.Column("trend", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_zoo_models_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_zoo_models_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zoo_models")),
        sa.UniqueConstraint("namespace", "name", name=op.f("uq_zoo_models_namespace_name")),
    )
    op.create_index(op.f("ix_zoo_models_license"), "zoo_models", ["license"], unique=False)
    op.create_index(
        "ix_zoo_models_listing_downloads",
        "zoo_models",
        ["is_public", "is_hidden", "downloads"],
        unique=False,
    )
    op.create_index(
        "ix_zoo_models_listing_likes",
        "zoo_models",
        ["is_public", "is_hidden", "likes"],
        unique=False,
    )
    op.create_index(
        "ix_zoo_models_listing_trend",
        "zoo_models",
        ["is_public", "is_hidden", "trend"],
        unique=False,
    )
    op.create_index(
        "ix_zoo_models_listing_updated",
        "zoo_models",
        ["is_public", "is_hidden", "updated_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_zoo_models_organization_id"), "zoo_models", ["organization_id"], unique=False
    )
    op.create_index(op.f("ix_zoo_models_owner_id"), "zoo_models", ["owner_id"], unique=False)
    op.create_index(op.f("ix_zoo_models_task"), "zoo_models", ["task"], unique=False)
    op.create_index(op.f("ix_zoo_models_verified"), "zoo_models", ["verified"], unique=False)
    op.create_table(
        "zoo_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("is_hidden", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_zoo_comments_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["zoo_models.id"],
            name=op.f("fk_zoo_comments_model_id_zoo_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zoo_comments")),
    )
    op.create_index(op.f("ix_zoo_comments_model_id"), "zoo_comments", ["model_id"], unique=False)
    op.create_table(
        "zoo_likes",
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["zoo_models.id"],
            name=op.f("fk_zoo_likes_model_id_zoo_models"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_zoo_likes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("model_id", "user_id", name=op.f("pk_zoo_likes")),
    )
    op.create_index(op.f("ix_zoo_likes_user_id"), "zoo_likes", ["user_id"], unique=False)
    op.create_table(
        "zoo_references",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ref_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["zoo_models.id"],
            name=op.f("fk_zoo_references_model_id_zoo_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zoo_references")),
        sa.UniqueConstraint(
            "model_id", "kind", "ref_id", name=op.f("uq_zoo_references_model_id_kind_ref_id")
        ),
    )
    op.create_index(
        "ix_zoo_references_kind_ref", "zoo_references", ["kind", "ref_id"], unique=False
    )
    op.create_index(
        op.f("ix_zoo_references_model_id"), "zoo_references", ["model_id"], unique=False
    )
    op.create_table(
        "zoo_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("architecture", sa.String(length=16), nullable=False),
        sa.Column("program_dir", sa.String(length=255), nullable=False),
        sa.Column("total_size", sa.BigInteger(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("validation_status", sa.String(length=16), nullable=False),
        sa.Column("validation_error", sa.Text(), nullable=False),
        sa.Column("validation", sa.JSON(), nullable=True),
        sa.Column("validation_job_id", sa.Integer(), nullable=True),
        sa.Column("validated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_zoo_versions_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["zoo_models.id"],
            name=op.f("fk_zoo_versions_model_id_zoo_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zoo_versions")),
        sa.UniqueConstraint("model_id", "number", name=op.f("uq_zoo_versions_model_id_number")),
    )
    op.create_index(op.f("ix_zoo_versions_model_id"), "zoo_versions", ["model_id"], unique=False)
    op.create_table(
        "zoo_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["zoo_versions.id"],
            name=op.f("fk_zoo_files_version_id_zoo_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zoo_files")),
        sa.UniqueConstraint("version_id", "path", name=op.f("uq_zoo_files_version_id_path")),
    )
    op.create_index(op.f("ix_zoo_files_digest"), "zoo_files", ["digest"], unique=False)
    op.create_index(op.f("ix_zoo_files_version_id"), "zoo_files", ["version_id"], unique=False)
    op.create_table(
        "zoo_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["zoo_models.id"],
            name=op.f("fk_zoo_tags_model_id_zoo_models"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["zoo_versions.id"],
            name=op.f("fk_zoo_tags_version_id_zoo_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zoo_tags")),
        sa.UniqueConstraint("model_id", "name", name=op.f("uq_zoo_tags_model_id_name")),
    )
    op.create_index(op.f("ix_zoo_tags_model_id"), "zoo_tags", ["model_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_zoo_tags_model_id"), table_name="zoo_tags")
    op.drop_table("zoo_tags")
    op.drop_index(op.f("ix_zoo_files_version_id"), table_name="zoo_files")
    op.drop_index(op.f("ix_zoo_files_digest"), table_name="zoo_files")
    op.drop_table("zoo_files")
    op.drop_index(op.f("ix_zoo_versions_model_id"), table_name="zoo_versions")
    op.drop_table("zoo_versions")
    op.drop_index(op.f("ix_zoo_references_model_id"), table_name="zoo_references")
    op.drop_index("ix_zoo_references_kind_ref", table_name="zoo_references")
    op.drop_table("zoo_references")
    op.drop_index(op.f("ix_zoo_likes_user_id"), table_name="zoo_likes")
    op.drop_table("zoo_likes")
    op.drop_index(op.f("ix_zoo_comments_model_id"), table_name="zoo_comments")
    op.drop_table("zoo_comments")
    op.drop_index(op.f("ix_zoo_models_verified"), table_name="zoo_models")
    op.drop_index(op.f("ix_zoo_models_task"), table_name="zoo_models")
    op.drop_index(op.f("ix_zoo_models_owner_id"), table_name="zoo_models")
    op.drop_index(op.f("ix_zoo_models_organization_id"), table_name="zoo_models")
    op.drop_index("ix_zoo_models_listing_updated", table_name="zoo_models")
    op.drop_index("ix_zoo_models_listing_trend", table_name="zoo_models")
    op.drop_index("ix_zoo_models_listing_likes", table_name="zoo_models")
    op.drop_index("ix_zoo_models_listing_downloads", table_name="zoo_models")
    op.drop_index(op.f("ix_zoo_models_license"), table_name="zoo_models")
    op.drop_table("zoo_models")
