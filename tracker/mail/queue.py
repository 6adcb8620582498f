"""Queueing what is due (digests, alerts), previewing exactly what would be sent, and sending.

One run loads the occurrences once, indexes them (tracker.mail.index), reads each stretch of
history once (tracker.mail.news), renders each distinct message once and stamps it for each
reader (tracker.mail.shared, tracker.mail.mime), and queues a hundred messages per
transaction.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import make_msgid, parseaddr

import jinja2

from tracker import store as db
from tracker.mail import compose as digest
from tracker.mail import delivery
from tracker.mail.index import Selections
from tracker.mail.news import Book, News, became_overdue
from tracker.mail.shared import Made, Shared
from tracker.mail.transport import Transport
from tracker.models import Occurrence, Revision, Status, Subscription
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
    selections: Selections
    news: News
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
    by_id = {o.id: o for o in everything}
    calls = db.load_calls(store)
    return Context(upcoming, by_id, calls, db.revision_map(store), base_url, sender,
                   templates(), Selections(upcoming), News(store, mark, by_id, calls), mark)


def _msgid(sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)


def _digest(sub: Subscription, ctx: Context, shared: Shared, now: datetime,
            period: digest.Period) -> tuple[Hashable, Made]:
    """This subscriber's digest, shared with every subscriber whose digest says the same."""
    sel = ctx.selections.of(sub.filter)
    overdue = became_overdue(sel, sub.last_digest_at or sub.created_at, now)
    key = ("digest", sub.filter, sub.horizon_days, sub.timezone, period,
           ctx.news.start(sub), tuple(c.entity_id for c, _, _ in overdue))

    def build() -> Made:
        d = digest.compose(sub, ctx.selections.chosen(sub.filter, now, sub.horizon_days),
                           ctx.news.told(sub) + overdue, now, ctx.base_url, "", period,
                           shared.lines)
        return Made(d, digest.subject(d), "digest", ())
    return key, shared.made(key, build)


def _alerts(sub: Subscription, ctx: Context, shared: Shared, now: datetime,
            queued: set[str]) -> tuple[Hashable, Made, list[str]] | None:
    """The alert due for this subscriber now, if any: several cut-offs due at once are told
    in one message (a mail per cut-off would bury the reader). Returns its key, the message
    and the alert keys it tells."""
    if not sub.alerts:
        return None
    sel = ctx.selections.of(sub.filter)
    soon = sel.cutoffs_before(now + timedelta(days=max(sub.alerts) + 2))
    due = [(o, found) for o in soon
           if (found := digest.due_alert(sub, o, now, queued)) is not None]
    if not due:
        return None
    keys = [k for _, (_, k) in due]
    key = ("alert", sub.filter, sub.timezone, tuple(keys))

    def build() -> Made:
        o, (lead, _) = due[0]
        d = digest.compose(sub, [o for o, _ in due], [], now, ctx.base_url, "",
                           lines=shared.lines)
        if len(due) == 1:
            i = d.items[0]
            subject = f"{i.left.capitalize()}: {o.title} ({i.call_time})"
        else:
            subject = f"{len(due)} cut-offs coming up, the first {d.items[0].left}: {o.title}"
        leads = " and ".join(str(a) for a in sorted(sub.alerts, reverse=True))
        return Made(d, subject, "alert", (("lead", lead), ("leads", leads)))
    return key, shared.made(key, build), keys


def _likeness(sub: Subscription) -> tuple[str, ...]:
    """Subscribers whose messages may be equal come one after the other: a run keeps only the
    last few messages it rendered."""
    return (" ".join(sub.calls), " ".join(sub.tags), " ".join(sub.kinds), sub.timezone,
            f"{sub.horizon_days:05d}", sub.every.value, sub.at.isoformat(),
            str(sub.last_revision_id), sub.email)


def queue_due(store: db.Store, now: datetime, base_url: str, sender: str,
              dry_run: bool = False, only: str | None = None) -> QueueReport:
    """Queue every digest and alert that is due and not yet queued; one bad one stops no other."""
    report = QueueReport()
    ctx = context(store, now, base_url, sender)
    shared = Shared(ctx.env, sender, now, ctx.revisions)
    batch: list[outbox.Queued] = []
    empty: list[tuple[int, str]] = []

    def flush() -> None:
        for item, ok in zip(batch, outbox.enqueue_many(store, batch, now), strict=True):
            if ok and item.kind == "digest":
                report.digests += 1
            elif ok:
                report.alerts += 1
        outbox.mark_periods(store, empty)
        batch.clear()
        empty.clear()

    def add(sub: Subscription, shared_key: Hashable, made: Made, key: str, due_at: datetime,
            period: str = "", also: tuple[str, ...] = ()) -> None:
        assert sub.id is not None
        if dry_run:
            report.planned.append(f"{sub.email}: {made.subject}")
            return
        token, msgid = subscribers.new_token(), _msgid(ctx.sender)
        payload = shared.payload(shared_key, made, sub.email, token, msgid, ctx.base_url)
        batch.append(outbox.Queued(
            sub.id, key, made.template, sub.email, made.subject, msgid, payload, due_at, token,
            period, ctx.revision_mark if made.template == "digest" else None, also))

    keys = outbox.alert_keys(store)
    for sub in sorted(subscribers.list_subscriptions(store, active_only=True), key=_likeness):
        if len(batch) + len(empty) >= BATCH:
            flush()
        if only and sub.email != only:
            continue
        assert sub.id is not None
        try:
            period = digest.due_period(sub, now)
            if digest.period_is_new(sub, period):
                key, made = _digest(sub, ctx, shared, now, period)
                if made.digest.empty and not sub.send_empty:
                    report.skipped_empty += 1
                    if not dry_run:
                        empty.append((sub.id, period.key))
                else:
                    add(sub, key, made, f"digest:{period.key}", period.due_at, period.key)
            queued = keys.setdefault(sub.id, set())
            alert = _alerts(sub, ctx, shared, now, queued)
            if alert is not None:
                key, made, told = alert
                add(sub, key, made, told[0], now, also=tuple(told[1:]))
                queued.update(told)
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
        lines = ctx.news.told(sub) + became_overdue(ctx.selections.of(sub.filter),
                                                    sub.last_digest_at or sub.created_at, moment)
    else:
        day = moment.astimezone(sub.zone).date()
        upcoming = as_known(day) if as_known else None
        ctx = context(store, moment, base_url, sender, upcoming)
        before = digest.previous_period(sub, period)
        told = [c for c in db.history(store, before.due_at.date())
                if c.known_on is not None and before.due_at.date() < c.known_on <= day]
        lines = Book(told, ctx.everything, ctx.calls).followed(sub.filter) + \
            became_overdue(ctx.selections.of(sub.filter), before.due_at, moment)
    chosen = ctx.selections.chosen(sub.filter, moment, sub.horizon_days)
    d = digest.compose(sub, chosen, lines, moment, base_url, PREVIEW_TOKEN, period)
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
