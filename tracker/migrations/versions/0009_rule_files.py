"""Rule files as last synced: size and time, a hash of the text, the call each holds and
when its next announcement comes, so that a sync reads and compares only what changed.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rule_files",
        sa.Column("path", sa.String(1000), primary_key=True),
        sa.Column("stamp", sa.String(100), nullable=False, server_default=""),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(200), nullable=False),
        sa.Column("valid_until", sa.DateTime, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("rule_files")
