"""Queueing what is due (digests, alerts), previewing exactly what would be sent, and sending.

A digest tells the changes recorded since the previous one (counted by revision id, so a sync
that lands while a digest is prepared is told next time, never skipped) and, once, each
expected item that became overdue since then.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import make_msgid, parseaddr

import jinja2

from tracker import changes as history
from tracker import store as db
from tracker.mail import compose as digest
from tracker.mail import delivery
from tracker.mail.transport import Transport
from tracker.models import Change, ChangeKind, Occurrence, Revision, Status, Subscription
from tracker.resources import templates
from tracker.store import claims, outbox, subscribers

log = logging.getLogger(__name__)
PREVIEW_TOKEN = "PREVIEW-TOKEN-0000"
BATCH = 100  # messages queued per transaction


@dataclass
class QueueReport:
    """What a queue run did."""

    digests: int = 0
    alerts: int = 0
    skipped_empty: int = 0
    errors: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    """What every digest of one run is made from."""

    upcoming: list[Occurrence]
    everything: dict[str, Occurrence]
    calls: dict[str, db.CallRecord]
    revisions: dict[str, Revision]
    base_url: str
    sender: str
    env: jinja2.Environment
    revision_mark: int = 0  # read first: every change up to it is in the data above


def context(store: db.Store, now: datetime, base_url: str, sender: str,
            upcoming: list[Occurrence] | None = None) -> Context:
    """Load once what all subscribers' digests need (upcoming: from the store unless given)."""
    mark = db.revision_mark(store)
    everything = db.load_occurrences(store, db.Window(include_withdrawn=True), now)
    if upcoming is None:
        upcoming = [o for o in everything if o.status is Status.OVERDUE
                    or (o.status is not Status.CANCELLED and o.instant >= now - timedelta(days=1))
                    or (o.status is Status.CANCELLED and o.instant >= now)]
    return Context(upcoming, {o.id: o for o in everything}, db.load_calls(store),
                   db.revision_map(store), base_url, sender, templates(), mark)


def _recorded(sub: Subscription, store: db.Store, mark: int) -> list[Change]:
    """Changes recorded after this subscriber's last digest (or subscription), up to `mark`."""
    if sub.last_revision_id is not None:
        return db.changes_since(store, None, after_id=sub.last_revision_id, upto_id=mark)
    if sub.last_digest_at is not None:  # a digest queued before revision marks existed
        return db.changes_since(store, sub.last_digest_at, strictly_after=True, upto_id=mark)
    return db.changes_since(store, sub.created_at, upto_id=mark)


def followed(sub: Subscription, raw: list[Change], ctx: Context) \
        -> list[tuple[Change, Occurrence | None, str]]:
    """The changes a subscriber follows, one line each, with their item and a title."""
    new_calls = {(c.call_id, c.detected_at) for c in raw if c.entity == "call"
                 and c.change is ChangeKind.ADDED}
    out: list[tuple[Change, Occurrence | None, str]] = []
    for c in history.collapse(raw):
        if c.change is ChangeKind.BASELINE:
            continue
        if c.entity == "occurrence":
            occ = ctx.everything.get(c.entity_id)
            if occ is None or not sub.follows(occ):
                continue
            if c.change is ChangeKind.ADDED and (c.call_id, c.detected_at) in new_calls:
                continue  # the new call's own line says it
            out.append((c, occ, occ.title))
        else:
            call = ctx.calls.get(c.call_id)
            if call is None or not sub.filter.matches_call(call.id, call.tags):
                continue
            out.append((c, None, call.title))
    return out


def became_overdue(sub: Subscription, ctx: Context, since: datetime | None, now: datetime) \
        -> list[tuple[Change, Occurrence | None, str]]:
    """Followed items that turned overdue after `since`: told once, in the next digest."""
    out: list[tuple[Change, Occurrence | None, str]] = []
    for o in ctx.upcoming:
        if o.status is not Status.OVERDUE or not sub.follows(o):
            continue
        turned = datetime.combine(o.last_day + timedelta(days=1), datetime.min.time(),
                                  o.instant.tzinfo)
        if (since is None or turned > since) and turned <= now:
            c = Change("occurrence", o.id, o.call_id, ChangeKind.CHANGED, "status",
                       o.standing.value, "overdue", turned, announced=turned.date())
            out.append((c, o, o.title))
    return out


def _changes_for(sub: Subscription, store: db.Store, ctx: Context, now: datetime) \
        -> list[tuple[Change, Occurrence | None, str]]:
    since = sub.last_digest_at or sub.created_at
    return followed(sub, _recorded(sub, store, ctx.revision_mark), ctx) + \
        became_overdue(sub, ctx, since, now)


def _msgid(sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)


def render_digest(sub: Subscription, store: db.Store, ctx: Context, now: datetime,
                  period: digest.Period | None, token: str,
                  message_id: str) -> tuple[digest.Digest, str, bytes]:
    """The digest of one subscriber: content, subject and the full message bytes."""
    d = digest.compose(sub, ctx.upcoming, _changes_for(sub, store, ctx, now), now,
                       ctx.base_url, token, period)
    text, html = digest.render(ctx.env, "digest", d)
    subject = digest.subject(d)
    payload = digest.message(ctx.sender, sub.email, subject, text, html,
                             digest.attachment(d, ctx.revisions), message_id, now,
                             d.unsubscribe_url, token)
    return d, subject, payload


def render_alert(sub: Subscription, ctx: Context, o: Occurrence, lead: int, now: datetime,
                 token: str, message_id: str) -> tuple[str, bytes]:
    """A short alert for one cut-off."""
    d = digest.compose(sub, [o], [], now, ctx.base_url, token)
    if not d.items:  # outside the horizon: an alert still names its cut-off
        d = digest.Digest(sub, now, [digest.line(o, sub, now)], [], d.feed_url,
                          d.unsubscribe_url, d.manage_hint, occurrences=[o])
    text, html = digest.render(ctx.env, "alert", d, lead=lead)
    item = d.items[0]
    subject = f"{item.left.capitalize()}: {o.title} ({item.call_time})"
    payload = digest.message(ctx.sender, sub.email, subject, text, html,
                             digest.attachment(d, ctx.revisions), message_id, now,
                             d.unsubscribe_url, token)
    return subject, payload


def queue_due(store: db.Store, now: datetime, base_url: str, sender: str,
              dry_run: bool = False, only: str | None = None) -> QueueReport:
    """Queue every digest and alert that is due and not yet queued; one bad one stops no other."""
    report = QueueReport()
    ctx = context(store, now, base_url, sender)
    batch: list[outbox.Queued] = []

    def flush() -> None:
        for item, ok in zip(batch, outbox.enqueue_many(store, batch, now), strict=True):
            if ok and item.kind == "digest":
                report.digests += 1
            elif ok:
                report.alerts += 1
        batch.clear()

    keys = outbox.alert_keys(store)
    for sub in subscribers.list_subscriptions(store, active_only=True):
        if len(batch) >= BATCH:
            flush()
        if only and sub.email != only:
            continue
        assert sub.id is not None
        try:
            period = digest.due_period(sub, now)
            if digest.period_is_new(sub, period):
                token, msgid = subscribers.new_token(), _msgid(ctx.sender)
                d, subject, payload = render_digest(sub, store, ctx, now, period, token, msgid)
                if d.empty and not sub.send_empty:
                    report.skipped_empty += 1
                    if not dry_run:
                        outbox.mark_period(store, sub.id, period.key)
                elif dry_run:
                    report.planned.append(f"{sub.email}: {subject}")
                else:
                    batch.append(outbox.Queued(
                        sub.id, f"digest:{period.key}", "digest", sub.email, subject,
                        msgid, payload, period.due_at, token, period.key, ctx.revision_mark))
            queued = keys.get(sub.id, set())
            for o in ctx.upcoming:
                if not sub.alerts or not sub.follows(o):
                    continue
                due = digest.due_alert(sub, o, now, queued)
                if due is None:
                    continue
                lead, key = due
                token, msgid = subscribers.new_token(), _msgid(ctx.sender)
                subject, payload = render_alert(sub, ctx, o, lead, now, token, msgid)
                if dry_run:
                    report.planned.append(f"{sub.email}: {subject}")
                else:
                    batch.append(outbox.Queued(sub.id, key, "alert", sub.email, subject,
                                               msgid, payload, now, token))
                    queued.add(key)
        except Exception as exc:  # a template or data error for one subscriber
            log.exception("could not prepare mail for %s", sub.email)
            report.errors.append(f"{sub.email}: {exc.__class__.__name__}: {exc}")
    flush()
    return report


@dataclass(frozen=True)
class Preview:
    """A digest as it would be (or was) sent: what the command prints."""

    subject: str
    text: str
    html: str
    period: digest.Period
    queued: bool = False  # True: this period was already queued, and this is that message


def preview(store: db.Store, sub: Subscription, at: datetime, base_url: str, sender: str,
            as_known: Callable[[date], list[Occurrence]] | None = None,
            now: datetime | None = None) -> Preview:
    """The digest `sub` gets for the period due at `at` (their hour), rendered as at its send
    time: the current period exactly as 'digest send' renders it (same changes, same data); an
    earlier one from what was known on its day (`as_known(day)` gives the dates as known then,
    history gives the changes announced in that period). Queues nothing."""
    period = digest.due_period(sub, at)
    moment = period.due_at
    current = (now is None or digest.due_period(sub, now) == period) and \
        digest.period_is_new(sub, period)
    if current:
        ctx = context(store, moment, base_url, sender)
        lines = _changes_for(sub, store, ctx, moment)
    else:
        day = moment.astimezone(sub.zone).date()
        upcoming = as_known(day) if as_known else None
        ctx = context(store, moment, base_url, sender, upcoming)
        before = digest.previous_period(sub, period)
        told = [c for c in db.history(store, before.due_at.date())
                if c.known_on is not None and before.due_at.date() < c.known_on <= day]
        lines = followed(sub, told, ctx) + became_overdue(sub, ctx, before.due_at, moment)
    d = digest.compose(sub, ctx.upcoming, lines, moment, base_url, PREVIEW_TOKEN, period)
    text, html = digest.render(ctx.env, "digest", d)
    return Preview(digest.subject(d), text, html, period)


def send_due(store: db.Store, transport: Transport, sender: str, now: datetime,
             hold_lock: bool = True, stop: threading.Event | None = None) \
        -> delivery.DrainReport:
    """Drain the outbox; on SQLite only one process sends at a time (PostgreSQL: any number,
    see tracker.store.claims)."""
    if not hold_lock or claims.several_senders(store):
        return delivery.drain(store, transport, sender, now, stop)
    with store.exclusive("sending mail"):
        return delivery.drain(store, transport, sender, now, stop)
