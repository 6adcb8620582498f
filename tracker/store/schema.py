"""Tables of the store, as the migrations create them; instants are naive UTC."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa

log = logging.getLogger(__name__)

metadata = sa.MetaData()

calls = sa.Table(
    "calls", metadata,
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
    sa.Column("programmes", sa.Text, nullable=False, server_default=""),
    sa.Column("budget_approximate", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("announced", sa.Date, nullable=True),
    sa.Column("orphaned", sa.Boolean, nullable=False, server_default=sa.false()),
)

call_tags = sa.Table(
    "call_tags", metadata,
    sa.Column("call_id", sa.String(200), sa.ForeignKey("calls.id"), primary_key=True),
    sa.Column("tag", sa.String(100), primary_key=True),
)

occurrences = sa.Table(
    "occurrences", metadata,
    sa.Column("id", sa.String(300), primary_key=True),
    sa.Column("call_id", sa.String(200), sa.ForeignKey("calls.id"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("start_local", sa.String(40), nullable=False),
    sa.Column("start_utc", sa.DateTime, nullable=False),
    sa.Column("last_utc", sa.DateTime, nullable=False, index=True),
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
    sa.Column("evidence", sa.String(12), nullable=False, server_default="unsourced"),
    sa.Column("time_basis", sa.String(12), nullable=False, server_default=""),
    sa.Column("source_url", sa.Text, nullable=False, server_default=""),
    sa.Column("announced", sa.Date, nullable=True),
    sa.Index("ix_occurrences_call_id", "call_id"),
)

revisions = sa.Table(
    "revisions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.String(20), nullable=False),
    sa.Column("entity_id", sa.String(300), nullable=False, index=True),
    sa.Column("call_id", sa.String(200), nullable=False),
    sa.Column("change", sa.String(20), nullable=False),
    sa.Column("field", sa.String(40), nullable=False, server_default=""),
    sa.Column("old", sa.Text, nullable=False, server_default=""),
    sa.Column("new", sa.Text, nullable=False, server_default=""),
    sa.Column("detected_at", sa.DateTime, nullable=False, index=True),
    sa.Column("source", sa.Text, nullable=False, server_default=""),
    sa.Column("sync_id", sa.Integer),
    sa.Column("announced", sa.Date, nullable=True),
    sa.Column("source_url", sa.Text, nullable=False, server_default=""),
    sa.Column("label", sa.Text, nullable=False, server_default=""),
)

sync_runs = sa.Table(
    "sync_runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("finished_at", sa.DateTime, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("added", sa.Integer, nullable=False, server_default="0"),
    sa.Column("changed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("withdrawn", sa.Integer, nullable=False, server_default="0"),
    sa.Column("valid_until", sa.DateTime, nullable=True),
)

rule_files = sa.Table(  # what each rule file was when last synced (sync reads only changes)
    "rule_files", metadata,
    sa.Column("path", sa.String(1000), primary_key=True),
    sa.Column("stamp", sa.String(100), nullable=False, server_default=""),  # "" = re-read
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("call_id", sa.String(200), nullable=False),
    sa.Column("valid_until", sa.DateTime, nullable=True),
)

subscribers = sa.Table(
    "subscribers", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("calls", sa.Text, nullable=False, server_default=""),
    sa.Column("tags", sa.Text, nullable=False, server_default=""),
    sa.Column("kinds", sa.Text, nullable=False, server_default=""),
    sa.Column("every", sa.String(10), nullable=False, server_default="weekly"),
    sa.Column("at_time", sa.String(5), nullable=False, server_default="08:00"),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="Europe/Brussels"),
    sa.Column("horizon_days", sa.Integer, nullable=False, server_default="60"),
    sa.Column("alerts", sa.Text, nullable=False, server_default=""),
    sa.Column("send_empty", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("unsubscribed_at", sa.DateTime),
    sa.Column("last_digest_at", sa.DateTime),
    sa.Column("last_period", sa.String(40), nullable=False, server_default=""),
    sa.Column("last_revision_id", sa.Integer, nullable=True),
)

unsubscribe_tokens = sa.Table(
    "unsubscribe_tokens", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id"), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

outbox = sa.Table(
    "outbox", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id"), nullable=False),
    sa.Column("key", sa.String(400), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("message_id", sa.String(300), nullable=False),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("due_at", sa.DateTime, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("claimed_at", sa.DateTime),
    sa.Column("sent_at", sa.DateTime),
    sa.UniqueConstraint("subscriber_id", "key", name="uq_outbox_subscriber_key"),
    sa.Index("ix_outbox_state_next", "state", "next_attempt_at"),
)

told_alerts = sa.Table(  # alert keys told in a message that told several (its own key: outbox)
    "told_alerts", metadata,
    sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id"), primary_key=True),
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

runtime_state = sa.Table(
    "runtime_state", metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False, server_default=""),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

# Fields a subscriber sees: a change to any of them raises the revision counter.
OCC_FIELDS = ("call_id", "kind", "title", "start_local", "all_day", "end_date", "timezone",
              "precision", "tentative", "status", "moved_from", "url", "source", "note",
              "evidence", "time_basis", "source_url", "announced")
CALL_FIELDS = ("type", "title", "identifiers", "funder", "url", "timezone", "submission",
               "opens", "closes", "budget_amount", "budget_currency", "budget_remaining",
               "programmes", "budget_approximate", "announced")


class Stored(StrEnum):
    """Statuses that exist only in the store (occurrence.status): never shown as such."""

    WITHDRAWN = "withdrawn"  # its rule no longer has it
    MERGED = "merged"  # a closing that a cut-off on the same day now stands for


def utc_naive(moment: datetime) -> datetime:
    """Stored instants are naive UTC on every back end."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def from_utc_naive(moment: datetime) -> datetime:
    """Back to an aware UTC instant."""
    return moment.replace(tzinfo=UTC)


# ---- web subscriptions (migration 0008): double opt-in requests and rate-limit counters

pending_subscriptions = sa.Table(
    "pending_subscriptions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("wanted", sa.Text, nullable=False, server_default="{}"),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("confirmed_at", sa.DateTime),
)

web_attempts = sa.Table(
    "web_attempts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("bucket", sa.String(100), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Index("ix_web_attempts_bucket_created", "bucket", "created_at"),
)
