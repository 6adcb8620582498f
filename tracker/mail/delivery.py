"""Draining the outbox: claim, send, settle; temporary failures wait (growing to 6 hours) and
never give up; a stop request ends a drain between messages."""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tracker.mail.transport import PermanentFailure, TemporaryFailure, Transport
from tracker.models import OutboxState
from tracker.store import outbox
from tracker.store.engine import Store

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)
BATCH = 200


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


def _retry(store: Store, row: outbox.OutboxRow, error: str, now: datetime,
           report: DrainReport, claimed: bool) -> None:
    """A temporary failure is never final: an outage only delays mail (waits grow to 6 h)."""
    tries = row.attempts + 1
    report.errors.append(f"{row.recipient}: {error}")
    when = now + backoff(row.message_id, tries)
    if claimed:
        outbox.settle(store, row.id, OutboxState.PENDING, now, error, next_attempt=when)
    else:
        outbox.postpone(store, [row.id], error, when)
    report.retried += 1


def _send_one(store: Store, transport: Transport, sender: str, row: outbox.OutboxRow,
              now: datetime, report: DrainReport) -> bool:
    """One message; False when the server cannot be reached (stop this drain)."""
    if not outbox.claim(store, row.id, now):
        return True  # another sender has it
    try:
        transport.send(sender, row.recipient, row.payload)
    except PermanentFailure as exc:
        outbox.settle(store, row.id, OutboxState.FAILED, now, str(exc))
        report.failed += 1
        report.errors.append(f"{row.recipient}: {exc}")
        log.warning("permanent failure for %s: %s", row.recipient, exc)
    except TemporaryFailure as exc:
        _retry(store, row, str(exc), now, report, claimed=True)
        try:
            transport.open()
        except TemporaryFailure:
            return False
    else:
        outbox.settle(store, row.id, OutboxState.SENT, now)
        report.sent += 1
        log.info("sent %s to %s", row.key, row.recipient)
    return True


def drain(store: Store, transport: Transport, sender: str, now: datetime,
          stop: threading.Event | None = None) -> DrainReport:
    """Send every due message over one connection, batch after batch until none is due or
    `stop` is set. The caller holds the sender lock."""
    report = DrainReport(where=transport.description)
    outbox.release_stale(store)
    outbox.drop_unsubscribed(store)
    done: set[int] = set()
    try:
        while not (stop and stop.is_set()):
            due = [r for r in outbox.due_messages(store, now, BATCH) if r.id not in done]
            if not due:
                break
            try:
                transport.open()
            except TemporaryFailure as exc:
                for row in due:
                    _retry(store, row, str(exc), now, report, claimed=False)
                break
            for i, row in enumerate(due):
                if stop and stop.is_set():
                    return report
                done.add(row.id)
                if not _send_one(store, transport, sender, row, now, report):
                    for rest in due[i + 1:]:
                        _retry(store, rest, "the server went away", now, report, claimed=False)
                    return report
    finally:
        transport.close()
    return report
