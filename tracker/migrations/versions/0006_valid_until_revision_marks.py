"""When a sync's view expires (the next announcement day), and which revision each subscriber
was last told about.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_runs") as batch:
        batch.add_column(sa.Column("valid_until", sa.DateTime, nullable=True))
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("last_revision_id", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("last_revision_id")
    with op.batch_alter_table("sync_runs") as batch:
        batch.drop_column("valid_until")
