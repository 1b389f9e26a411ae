"""courses: courses, lessons, exercises, enrollments, completions and exercise results

Revision ID: courses_0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "courses_0001"
down_revision = None
branch_labels = ("courses",)
depends_on = ("accounts_0001", "notebooks_0001")


def upgrade() -> None:
    op.create_table(
        "courses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("title_zh", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("summary_zh", sa.Text(), nullable=False),
        sa.Column("is_published", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_courses_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courses")),
        sa.UniqueConstraint("slug", name=op.f("uq_courses_slug")),
    )
    op.create_index(op.f("ix_courses_owner_id"), "courses", ["owner_id"], unique=False)
    op.create_table(
        "course_lessons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("title_zh", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("notebook_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_course_lessons_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notebook_id"],
            ["notebooks.id"],
            name=op.f("fk_course_lessons_notebook_id_notebooks"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_lessons")),
        sa.UniqueConstraint("course_id", "slug", name=op.f("uq_course_lessons_course_id_slug")),
    )
    op.create_index(
        op.f("ix_course_lessons_course_id"), "course_lessons", ["course_id"], unique=False
    )
    op.create_index(
        op.f("ix_course_lessons_notebook_id"), "course_lessons", ["notebook_id"], unique=False
    )
    op.create_table(
        "course_enrollments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("last_lesson_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_course_enrollments_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["last_lesson_id"],
            ["course_lessons.id"],
            name=op.f("fk_course_enrollments_last_lesson_id_course_lessons"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_course_enrollments_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_enrollments")),
        sa.UniqueConstraint(
            "course_id", "user_id", name=op.f("uq_course_enrollments_course_id_user_id")
        ),
    )
    op.create_index(
        op.f("ix_course_enrollments_course_id"), "course_enrollments", ["course_id"], unique=False
    )
    op.create_index(
        op.f("ix_course_enrollments_user_id"), "course_enrollments", ["user_id"], unique=False
    )
    op.create_table(
        "course_exercises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("starter", sa.Text(), nullable=False),
        sa.Column("checks", sa.Text(), nullable=False),
        sa.Column("hint", sa.Text(), nullable=False),
        sa.Column("solution", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["course_lessons.id"],
            name=op.f("fk_course_exercises_lesson_id_course_lessons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_exercises")),
        sa.UniqueConstraint("lesson_id", "key", name=op.f("uq_course_exercises_lesson_id_key")),
    )
    op.create_index(
        op.f("ix_course_exercises_lesson_id"), "course_exercises", ["lesson_id"], unique=False
    )
    op.create_table(
        "course_lesson_completions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["course_lessons.id"],
            name=op.f("fk_course_lesson_completions_lesson_id_course_lessons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_course_lesson_completions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_lesson_completions")),
        sa.UniqueConstraint(
            "lesson_id", "user_id", name=op.f("uq_course_lesson_completions_lesson_id_user_id")
        ),
    )
    op.create_index(
        op.f("ix_course_lesson_completions_lesson_id"),
        "course_lesson_completions",
        ["lesson_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_course_lesson_completions_user_id"),
        "course_lesson_completions",
        ["user_id"],
        unique=False,
    )
    op.create_table(
        "course_exercise_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("ever_passed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["course_exercises.id"],
            name=op.f("fk_course_exercise_results_exercise_id_course_exercises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_course_exercise_results_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_exercise_results")),
        sa.UniqueConstraint(
            "exercise_id", "user_id", name=op.f("uq_course_exercise_results_exercise_id_user_id")
        ),
    )
    op.create_index(
        op.f("ix_course_exercise_results_exercise_id"),
        "course_exercise_results",
        ["exercise_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_course_exercise_results_user_id"),
        "course_exercise_results",
        ["user_id"],
        unique=False,
    )


def downgrade() -> None:
    for table in (
        "course_exercise_results",
        "course_lesson_completions",
        "course_exercises",
        "course_enrollments",
        "course_lessons",
        "courses",
    ):
        op.drop_table(table)
