"""Draining the outbox: claim a batch, send it over one connection, settle it, until nothing is
due; temporary failures wait (growing to 6 hours) and never give up; a stop request ends a
drain between messages. Two write transactions per batch, however many messages it holds.

A message the server took just before a crash is sent again (same Message-ID) with the rest of
its batch: exactly-once over SMTP is impossible, and the batch keeps that window short.
Neither smtplib nor aiosmtplib pipelines commands (RFC 2920): each waits for every reply.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tracker.mail.transport import PermanentFailure, TemporaryFailure, Transport
from tracker.models import OutboxState
from tracker.store import claims, outbox
from tracker.store.engine import Store

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)
BATCH = 50  # messages claimed, sent and settled together


def backoff(message_id: str, attempts: int) -> timedelta:
    """Exponential, capped, with a stable per-message jitter (0.75x to 1.25x)."""
    base: timedelta = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_WAIT)
    spread = int(hashlib.sha256(f"{message_id}:{attempts}".encode()).hexdigest()[:4], 16)
    wait: timedelta = base * (0.75 + 0.5 * spread / 0xFFFF)
    return wait


@dataclass
class DrainReport:
    """What one drain did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    where: str = ""


def _retry(row: outbox.OutboxRow, error: str, now: datetime,
           report: DrainReport) -> claims.Outcome:
    """A temporary failure is never final: an outage only delays mail (waits grow to 6 h)."""
    report.errors.append(f"{row.recipient}: {error}")
    report.retried += 1
    return claims.Outcome(row.id, OutboxState.PENDING, error,
                          now + backoff(row.message_id, row.attempts))


def _send_one(transport: Transport, sender: str, row: outbox.OutboxRow, now: datetime,
              report: DrainReport) -> tuple[claims.Outcome, bool]:
    """One message: its outcome, and False when the server cannot be reached (stop)."""
    try:
        transport.send(sender, row.recipient, row.payload)
    except PermanentFailure as exc:
        report.failed += 1
        report.errors.append(f"{row.recipient}: {exc}")
        log.warning("permanent failure for %s: %s", row.recipient, exc)
        return claims.Outcome(row.id, OutboxState.FAILED, str(exc)), True
    except TemporaryFailure as exc:
        outcome = _retry(row, str(exc), now, report)
        try:
            transport.open()
        except TemporaryFailure:
            return outcome, False
        return outcome, True
    report.sent += 1
    log.debug("sent %s to %s", row.key, row.recipient)
    return claims.Outcome(row.id, OutboxState.SENT), True


def _send_batch(claimer: claims.Claimer, batch: claims.Batch, transport: Transport,
                sender: str, clock: Callable[[], datetime], report: DrainReport,
                stop: threading.Event | None) -> bool:
    """Send one claimed batch, then settle it in one transaction (whatever happened, rows
    never tried go back untouched); False: stop draining."""
    outcomes: list[claims.Outcome] = []
    try:
        try:
            transport.open()
        except TemporaryFailure as exc:
            outcomes = [_retry(row, str(exc), clock(), report) for row in batch.rows]
            return False
        for row in batch.rows:
            if stop and stop.is_set():
                return False
            outcome, going = _send_one(transport, sender, row, clock(), report)
            outcomes.append(outcome)
            if not going:
                outcomes += [_retry(rest, "the server went away", clock(), report)
                             for rest in batch.rows[len(outcomes):]]
                return False
        return True
    finally:
        done = {o.row_id for o in outcomes}
        outcomes += [claims.Outcome(r.id, None) for r in batch.rows if r.id not in done]
        claimer.settle(batch, outcomes, clock())


def drain(store: Store, transport: Transport, sender: str, now: datetime,
          stop: threading.Event | None = None) -> DrainReport:
    """Send every due message over one connection, batch after batch until none is due or
    `stop` is set. On SQLite the caller holds the sender lock; on PostgreSQL any number of
    drains may run at once. The drain's clock is `now` moved on by the time it has taken."""
    report = DrainReport(where=transport.description)
    began = time.monotonic()

    def clock() -> datetime:
        return now + timedelta(seconds=time.monotonic() - began)

    outbox.drop_unsubscribed(store)
    with claims.Claimer(store) as claimer:
        try:
            while not (stop and stop.is_set()):
                batch = claimer.claim(clock(), BATCH)
                if not batch.rows or not _send_batch(claimer, batch, transport, sender, clock,
                                                     report, stop):
                    break
        finally:
            transport.close()
    return report
