"""leaderboards: the zoo models a submission says it ran

Revision ID: leaderboards_0002
Revises: leaderboards_0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "leaderboards_0002"
down_revision = "leaderboards_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lb_submissions") as batch:
        batch.add_column(sa.Column("models", sa.JSON(), nullable=False,
                                   server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("lb_submissions") as batch:
        batch.drop_column("models")
