"""Use cases for email: subscribe, queue what is due (digests, alerts), preview, send."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from email.utils import make_msgid, parseaddr

import jinja2

from tracker import digest, history, mailer
from tracker import store as db
from tracker.errors import NotFoundError, UsageError
from tracker.models import Change, Every, Kind, Occurrence, Revision, Subscription
from tracker.service import resolve_call
from tracker.store import mail as outbox
from tracker.templating import templates
from tracker.timeparse import parse_zone

log = logging.getLogger(__name__)

EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                   r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
SHOWN_FIELDS = {"start_local", "status", "tentative", "title", "budget_amount",
                "budget_remaining"}


def valid_email(text: str) -> str:
    """A plain address (no display name), domain lower-cased; UsageError otherwise."""
    address = text.strip()
    name, parsed = parseaddr(address)
    if name or parsed != address or not EMAIL.match(address) or len(address) > 254:
        raise UsageError(f"'{text}' is not an email address; write it as name@example.org")
    local, domain = address.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


MAX_DAYS = 3660  # ten years: more would overflow the dates of every later digest


def parse_days(text: str, option: str) -> int:
    """'60d', '8w' or '60' -> days (1 to MAX_DAYS)."""
    m = re.fullmatch(r"\s*(\d+)\s*([dw]?)\s*", text)
    if not m or int(m.group(1)) < 1:
        raise UsageError(f"{option}: '{text}' is not a number of days; write e.g. 60d or 8w")
    days = int(m.group(1)) * (7 if m.group(2) == "w" else 1)
    if days > MAX_DAYS:
        raise UsageError(f"{option}: '{text}' is more than {MAX_DAYS} days (10 years)")
    return days


def parse_at(text: str) -> time:
    """'08:00' -> time."""
    try:
        value = time.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--at: '{text}' is not a time of day; write HH:MM, e.g. 08:00") from None
    return value.replace(second=0, microsecond=0)


def subscribe(store: db.Store, email: str, now: datetime, *, calls: Sequence[str] = (),
              tags: Sequence[str] = (), kinds: Sequence[str] = (), every: str | None = None,
              at: str | None = None, tz: str | None = None, horizon: str | None = None,
              alerts: str | None = None, empty: bool | None = None) -> tuple[Subscription, bool]:
    """Create a subscription, or edit one: options not given keep their value; an empty value
    (--call '') clears that filter. After an unsubscribe, subscribing starts afresh."""
    address = valid_email(email)
    found = outbox.get_subscription(store, address)
    old = found if found is not None and found.active else Subscription(address)
    known = db.call_names(store)
    ids = tuple(sorted({resolve_call(known, c) for c in calls if c.strip()})) if calls \
        else old.calls
    tags = [t for t in tags if t.strip()] if tags else list(old.tags)
    kinds = [k for k in kinds if k.strip()] if kinds else list(old.kinds)
    known_tags = {t for c in db.load_calls(store).values() for t in c.tags}
    for t in tags:
        if t not in known_tags:
            raise UsageError(f"--tag: no call has the tag '{t}'; tags in use: "
                             f"{', '.join(sorted(known_tags)) or 'none'}")
    for k in kinds:
        if k not in {x.value for x in Kind}:
            raise UsageError(f"--kind: unknown kind '{k}'; use "
                             f"{', '.join(x.value for x in Kind)}")
    try:
        freq = Every(every) if every else old.every
    except ValueError:
        raise UsageError(f"--every: '{every}' is not daily, weekly or monthly") from None
    zone = parse_zone(tz).key if tz else old.timezone
    leads = old.alerts
    if alerts is not None:
        leads = tuple(sorted({parse_days(a, "--alerts") for a in alerts.split(",") if a.strip()},
                             reverse=True))
    sub = Subscription(
        address, ids, tuple(tags), tuple(kinds), freq,
        parse_at(at) if at else old.at, zone,
        parse_days(horizon, "--horizon") if horizon else old.horizon_days, leads,
        old.send_empty if empty is None else empty)
    return outbox.save_subscription(store, sub, now)


def unsubscribe(store: db.Store, email: str, now: datetime) -> None:
    """Stop every mail to an address."""
    if not outbox.deactivate(store, valid_email(email), now):
        raise NotFoundError(f"{email} is not subscribed.")


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
        upcoming = db.load_occurrences(store, db.Window(since=now - timedelta(days=1)), now)
    return Context(upcoming, {o.id: o for o in everything}, db.load_calls(store),
                   db.revision_map(store), base_url, sender, templates(), mark)


def _changes_for(sub: Subscription, store: db.Store, ctx: Context) \
        -> list[tuple[Change, Occurrence | None, str]]:
    """Changes since this subscriber's last digest (or subscription), that they follow.

    Counted by revision id, not by clock: a sync that commits while a digest is prepared
    lands after the mark and is told next time, never skipped."""
    if sub.last_revision_id is not None:
        raw = db.changes_since(store, None, after_id=sub.last_revision_id,
                               upto_id=ctx.revision_mark)
    elif sub.last_digest_at is not None:  # a digest queued before revision marks existed
        raw = db.changes_since(store, sub.last_digest_at, strictly_after=True,
                               upto_id=ctx.revision_mark)
    else:
        raw = db.changes_since(store, sub.created_at, upto_id=ctx.revision_mark)
    new_calls = {(c.call_id, c.detected_at) for c in raw if c.entity == "call"
                 and c.change == "added"}
    out: list[tuple[Change, Occurrence | None, str]] = []
    for c in history.collapse(raw):
        if c.change == "changed" and c.field not in SHOWN_FIELDS:
            continue
        if c.entity == "occurrence":
            occ = ctx.everything.get(c.entity_id)
            if occ is None or not sub.follows(occ):
                continue
            if c.change == "added" and (c.call_id, c.detected_at) in new_calls:
                continue  # the new call's own line says it
            out.append((c, occ, occ.title))
        else:
            call = ctx.calls.get(c.call_id)
            if call is None or (sub.calls and call.id not in sub.calls) or \
                    (sub.tags and not set(sub.tags) & set(call.tags)):
                continue
            out.append((c, None, call.title))
    return out


def _msgid(sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)


def render_digest(sub: Subscription, store: db.Store, ctx: Context, now: datetime,
                  period: digest.Period | None, token: str,
                  message_id: str) -> tuple[digest.Digest, str, bytes]:
    """The digest of one subscriber: content, subject and the full message bytes."""
    d = digest.compose(sub, ctx.upcoming, _changes_for(sub, store, ctx), now,
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
    for sub in outbox.list_subscriptions(store, active_only=True):
        if only and sub.email != only:
            continue
        assert sub.id is not None
        try:
            period = digest.due_period(sub, now)
            if digest.period_is_new(sub, period):
                token, msgid = outbox.new_token(), _msgid(ctx.sender)
                d, subject, payload = render_digest(sub, store, ctx, now, period, token, msgid)
                if d.empty and not sub.send_empty:
                    report.skipped_empty += 1
                    if not dry_run:
                        outbox.mark_period(store, sub.id, period.key)
                elif dry_run:
                    report.planned.append(f"{sub.email}: {subject}")
                elif outbox.enqueue(store, outbox.Queued(
                        sub.id, f"digest:{period.key}", "digest", sub.email, subject,
                        msgid, payload, period.due_at, token,
                        period.key, ctx.revision_mark), now):
                    report.digests += 1
            queued = outbox.outbox_keys(store, sub.id, "alert:")
            for o in ctx.upcoming:
                if not sub.alerts or not sub.follows(o):
                    continue
                due = digest.due_alert(sub, o, now, queued)
                if due is None:
                    continue
                lead, key = due
                token, msgid = outbox.new_token(), _msgid(ctx.sender)
                subject, payload = render_alert(sub, ctx, o, lead, now, token, msgid)
                if dry_run:
                    report.planned.append(f"{sub.email}: {subject}")
                elif outbox.enqueue(store, outbox.Queued(
                        sub.id, key, "alert", sub.email, subject,
                        msgid, payload, now, token), now):
                    report.alerts += 1
                    queued.add(key)
        except Exception as exc:  # a template or data error for one subscriber
            log.exception("could not prepare mail for %s", sub.email)
            report.errors.append(f"{sub.email}: {exc.__class__.__name__}: {exc}")
    return report


def preview(store: db.Store, email: str, now: datetime, base_url: str, sender: str,
            upcoming: list[Occurrence] | None = None) -> tuple[str, str, str]:
    """(subject, text, html) of the digest this subscriber would get at `now`; queues nothing."""
    sub = outbox.get_subscription(store, valid_email(email))
    if sub is None:
        raise NotFoundError(f"{email} is not subscribed; add it with 'tracker subscribe'.")
    ctx = context(store, now, base_url, sender, upcoming)
    d = digest.compose(sub, ctx.upcoming, _changes_for(sub, store, ctx), now, base_url,
                       "PREVIEW-TOKEN", digest.due_period(sub, now))
    text, html = digest.render(ctx.env, "digest", d)
    return digest.subject(d), text, html


def send_due(store: db.Store, transport: mailer.Transport, sender: str, now: datetime,
             hold_lock: bool = True) -> mailer.DrainReport:
    """Drain the outbox; only one process sends at a time."""
    if not hold_lock:
        return mailer.drain(store, transport, sender, now)
    with store.exclusive("sending mail"):
        return mailer.drain(store, transport, sender, now)
