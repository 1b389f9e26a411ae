"""leaderboards: hardware systems, submissions, results, checks, reference evidence, reviewers

Revision ID: leaderboards_0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "leaderboards_0001"
down_revision = None
branch_labels = ("leaderboards",)
depends_on = "accounts_0001"


def upgrade() -> None:
    op.create_table(
        "lb_board_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lb_board_generation")),
    )
    op.create_table(
        "lb_reference",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("suite_version", sa.String(length=16), nullable=False),
        sa.Column("backend", sa.String(length=100), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lb_reference")),
        sa.UniqueConstraint(
            "suite_version", "backend", name=op.f("uq_lb_reference_suite_version_backend")
        ),
    )
    op.create_table(
        "lb_reviewers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_lb_reviewers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lb_reviewers")),
        sa.UniqueConstraint("user_id", name=op.f("uq_lb_reviewers_user_id")),
    )
    op.create_table(
        "lb_systems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("system_name", sa.String(length=200), nullable=False),
        sa.Column("submitter", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("accelerator_model_name", sa.String(length=200), nullable=False),
        sa.Column("accelerators_per_node", sa.Integer(), nullable=False),
        sa.Column("accelerator_memory_capacity", sa.String(length=100), nullable=False),
        sa.Column("host_processor_model_name", sa.String(length=200), nullable=False),
        sa.Column("host_processors_per_node", sa.Integer(), nullable=False),
        sa.Column("host_memory_capacity", sa.String(length=100), nullable=False),
        sa.Column("framework", sa.String(length=300), nullable=False),
        sa.Column("other_software_stack", sa.String(length=500), nullable=False),
        sa.Column("operating_system", sa.String(length=300), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("peak_gflops", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_lb_systems_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_lb_systems_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lb_systems")),
    )
    op.create_index(
        op.f("ix_lb_systems_organization_id"), "lb_systems", ["organization_id"], unique=False
    )
    op.create_table(
        "lb_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("suite_version", sa.String(length=16), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("backend_name", sa.String(length=100), nullable=False),
        sa.Column("backend_version", sa.String(length=100), nullable=False),
        sa.Column("bundle_digest", sa.String(length=64), nullable=False),
        sa.Column("bundle_bytes", sa.Integer(), nullable=False),
        sa.Column("bundle_system", sa.JSON(), nullable=False),
        sa.Column("review_reason", sa.Text(), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_lb_submissions_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["users.id"],
            name=op.f("fk_lb_submissions_reviewed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["users.id"],
            name=op.f("fk_lb_submissions_submitted_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["lb_systems.id"],
            name=op.f("fk_lb_submissions_system_id_lb_systems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lb_submissions")),
        sa.UniqueConstraint("public_id", name=op.f("uq_lb_submissions_public_id")),
        sa.UniqueConstraint(
            "suite_version", "sequence", name=op.f("uq_lb_submissions_suite_version_sequence")
        ),
    )
    op.create_index(
        op.f("ix_lb_submissions_organization_id"),
        "lb_submissions",
        ["organization_id"],
        unique=False,
    )
    op.create_index(op.f("ix_lb_submissions_status"), "lb_submissions", ["status"], unique=False)
    op.create_index(
        op.f("ix_lb_submissions_submitted_by_id"),
        "lb_submissions",
        ["submitted_by_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_lb_submissions_system_id"), "lb_submissions", ["system_id"], unique=False
    )
    op.create_table(
        "lb_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["lb_submissions.id"],
            name=op.f("fk_lb_checks_submission_id_lb_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lb_checks")),
    )
    op.create_index(
        op.f("ix_lb_checks_submission_id"), "lb_checks", ["submission_id"], unique=False
    )
    op.create_table(
        "lb_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("benchmark", sa.String(length=64), nullable=False),
        sa.Column("scenario", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=True),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("higher_is_better", sa.Boolean(), nullable=False),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("secondary", sa.JSON(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["lb_submissions.id"],
            name=op.f("fk_lb_results_submission_id_lb_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lb_results")),
        sa.UniqueConstraint(
            "submission_id", "benchmark", name=op.f("uq_lb_results_submission_id_benchmark")
        ),
    )
    op.create_index(
        "ix_lb_results_board", "lb_results", ["benchmark", "visible", "value"], unique=False
    )
    op.create_index(
        op.f("ix_lb_results_submission_id"), "lb_results", ["submission_id"], unique=False
    )


def downgrade() -> None:
    for table in (
        "lb_results",
        "lb_checks",
        "lb_submissions",
        "lb_systems",
        "lb_reviewers",
        "lb_reference",
        "lb_board_generation",
    ):
        op.drop_table(table)
