"""Web subscriptions: double opt-in requests (hashed tokens, expiry, single use) and the
counters that rate-limit the subscribe form per address and per client.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("wanted", sa.Text, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("confirmed_at", sa.DateTime),
    )
    op.create_table(
        "web_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("bucket", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_web_attempts_bucket_created", "web_attempts", ["bucket", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_web_attempts_bucket_created", table_name="web_attempts")
    op.drop_table("web_attempts")
    op.drop_table("pending_subscriptions")
