"""How each date is known (evidence, hour stated or assumed, source link), when calls and
changes became known, approximate budgets, and calls kept without a rule file.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("occurrences") as batch:
        batch.add_column(sa.Column("evidence", sa.String(12), nullable=False,
                                   server_default="unsourced"))
        batch.add_column(sa.Column("time_basis", sa.String(12), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("source_url", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("announced", sa.Date, nullable=True))
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("budget_approximate", sa.Boolean, nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("announced", sa.Date, nullable=True))
        batch.add_column(sa.Column("orphaned", sa.Boolean, nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table("revisions") as batch:
        batch.add_column(sa.Column("announced", sa.Date, nullable=True))
        batch.add_column(sa.Column("source_url", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("label", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("revisions") as batch:
        for name in ("label", "source_url", "announced"):
            batch.drop_column(name)
    with op.batch_alter_table("calls") as batch:
        for name in ("orphaned", "announced", "budget_approximate"):
            batch.drop_column(name)
    with op.batch_alter_table("occurrences") as batch:
        for name in ("announced", "source_url", "time_basis", "evidence"):
            batch.drop_column(name)
