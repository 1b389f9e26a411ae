"""zoo: a version keeps its card as sanitized HTML, rendered when it is published

Revision ID: zoo_0002
Revises: zoo_0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "zoo_0002"
down_revision = "zoo_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: versions published before keep None and their page renders the card on demand.
    with op.batch_alter_table("zoo_versions") as batch:
        batch.add_column(sa.Column("readme_html", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("zoo_versions") as batch:
        batch.drop_column("readme_html")
