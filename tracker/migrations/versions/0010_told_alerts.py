"""Alerts told together: when several cut-offs of one subscriber are due at once they go in
one message, and the keys of all but the first (the outbox row's own key) are kept here.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "told_alerts",
        sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id"),
                  primary_key=True),
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("told_alerts")
