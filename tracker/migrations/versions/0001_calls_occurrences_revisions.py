"""Calls, their occurrences, and the revision history of both.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("identifiers", sa.Text, nullable=False, server_default=""),
        sa.Column("funder", sa.Text, nullable=False, server_default=""),
        sa.Column("url", sa.Text, nullable=False, server_default=""),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("submission", sa.String(20), nullable=False, server_default=""),
        sa.Column("opens", sa.Date),
        sa.Column("closes", sa.Date),
        sa.Column("budget_amount", sa.BigInteger),
        sa.Column("budget_currency", sa.String(3), nullable=False, server_default=""),
        sa.Column("budget_remaining", sa.BigInteger),
        sa.Column("source_file", sa.Text, nullable=False, server_default=""),
        sa.Column("withdrawn", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
        sa.Column("first_seen", sa.DateTime, nullable=False),
        sa.Column("last_modified", sa.DateTime, nullable=False),
    )
    op.create_table(
        "call_tags",
        sa.Column("call_id", sa.String(200), sa.ForeignKey("calls.id"), primary_key=True),
        sa.Column("tag", sa.String(100), primary_key=True),
    )
    op.create_table(
        "occurrences",
        sa.Column("id", sa.String(300), primary_key=True),
        sa.Column("call_id", sa.String(200), sa.ForeignKey("calls.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("start_local", sa.String(40), nullable=False),
        sa.Column("start_utc", sa.DateTime, nullable=False),
        sa.Column("last_utc", sa.DateTime, nullable=False),
        sa.Column("all_day", sa.Boolean, nullable=False),
        sa.Column("end_date", sa.Date),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("precision", sa.String(10), nullable=False),
        sa.Column("tentative", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("moved_from", sa.String(40), nullable=False, server_default=""),
        sa.Column("url", sa.Text, nullable=False, server_default=""),
        sa.Column("source", sa.Text, nullable=False, server_default=""),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("withdrawn", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("sequence", sa.Integer, nullable=False, server_default="0"),
        sa.Column("first_seen", sa.DateTime, nullable=False),
        sa.Column("last_modified", sa.DateTime, nullable=False),
    )
    op.create_index("ix_occurrences_last_utc", "occurrences", ["last_utc"])
    op.create_index("ix_occurrences_call_id", "occurrences", ["call_id"])
    op.create_table(
        "revisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(20), nullable=False),
        sa.Column("entity_id", sa.String(300), nullable=False),
        sa.Column("call_id", sa.String(200), nullable=False),
        sa.Column("change", sa.String(20), nullable=False),
        sa.Column("field", sa.String(40), nullable=False, server_default=""),
        sa.Column("old", sa.Text, nullable=False, server_default=""),
        sa.Column("new", sa.Text, nullable=False, server_default=""),
        sa.Column("detected_at", sa.DateTime, nullable=False),
        sa.Column("source", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_revisions_detected_at", "revisions", ["detected_at"])
    op.create_index("ix_revisions_entity_id", "revisions", ["entity_id"])


def downgrade() -> None:
    op.drop_table("revisions")
    op.drop_table("occurrences")
    op.drop_table("call_tags")
    op.drop_table("calls")
