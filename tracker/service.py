"""Use cases tying rules, expansion and the store together; they return values, never print."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from tracker import store as db
from tracker.config import mask
from tracker.errors import NotFoundError, Problem, StoreError, UsageError
from tracker.expand import (
    amendments_known,
    budget_as_of,
    call_state,
    closes_as_of,
    expand,
    expand_all,
)
from tracker.models import Amendment, Budget, Kind, Occurrence, Rule, Status
from tracker.rules import check_files, load_rules, rule_files
from tracker.store import mail


@dataclass(frozen=True)
class Query:
    """Which occurrences a reader wants."""

    now: datetime
    until: date | None = None
    calls: tuple[str, ...] = ()
    kinds: tuple[Kind, ...] = ()
    tags: tuple[str, ...] = ()
    include_past: bool = False
    known: date | None = None  # with --as-of: what had been announced by that day


@dataclass(frozen=True)
class CallSummary:
    """One line of `tracker calls`."""

    rule: Rule
    state: str
    next_cutoff: Occurrence | None
    budget: Budget | None


@dataclass(frozen=True)
class CallDetail:
    """Everything `tracker show` prints about one call."""

    rule: Rule
    state: str
    occurrences: list[Occurrence]
    budget: Budget | None
    amendments: list[Amendment] = field(default_factory=list)
    closes: date | None = None


def parse_kinds(names: Iterable[str]) -> tuple[Kind, ...]:
    """Kind names from the command line, with a clear error for a wrong one."""
    out = []
    for name in names:
        try:
            out.append(Kind(name.lower()))
        except ValueError:
            raise UsageError(f"--kind: unknown kind '{name}'; use one of "
                             f"{', '.join(k.value for k in Kind)}") from None
    return tuple(out)


def rules_from(paths: Sequence[Path]) -> list[Rule]:
    """Load and validate every rule (RuleError lists every problem)."""
    return load_rules(paths)


def check(paths: Sequence[Path]) -> tuple[list[Rule], list[Problem]]:
    """Validate rule files; every problem of every file."""
    return check_files(paths)


def resolve_call(known: Sequence[tuple[str, Sequence[str]]], name: str) -> str:
    """The call id for an id or official identifier, or NotFoundError with a suggestion."""
    low = name.lower()
    for cid, identifiers in known:
        if low == cid.lower() or low in (i.lower() for i in identifiers):
            return cid
    names = [c for c, _ in known] + [i for _, ids in known for i in ids]
    near = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    hint = f" Did you mean '{near[0]}'?" if near else " 'tracker calls' lists them."
    raise NotFoundError(f"No call with id '{name}'.{hint}")


def find_rule(rules: Sequence[Rule], name: str) -> Rule:
    """The rule with this id or official identifier, or NotFoundError with a suggestion."""
    cid = resolve_call([(r.id, r.identifiers) for r in rules], name)
    return next(r for r in rules if r.id == cid)


def is_upcoming(o: Occurrence, now: datetime) -> bool:
    """Not yet over at `now` (an all-day or fuzzy item counts until its last day ends)."""
    if o.all_day:
        return o.last_day >= now.astimezone(o.instant.tzinfo).date()
    return o.instant >= now


def select(items: Iterable[Occurrence], ids: set[str], q: Query) -> list[Occurrence]:
    """Filter occurrences (of the calls `ids`, if any) by the query; tags match with OR."""
    tags = {t.lower() for t in q.tags}
    out = []
    for o in items:
        if ids and o.call_id not in ids:
            continue
        if q.kinds and o.kind not in q.kinds:
            continue
        if tags and not tags.intersection(o.tags):
            continue
        if not q.include_past and not is_upcoming(o, q.now):
            continue
        if q.until is not None and o.instant.date() > q.until:
            continue
        out.append(o)
    return out


def deadlines(rules: Sequence[Rule], q: Query) -> list[Occurrence]:
    """What is coming (or everything, with include_past), as known on q.now."""
    ids = {find_rule(rules, c).id for c in q.calls}
    return select(expand_all(list(rules), q.now, q.known), ids, q)


def calls(rules: Sequence[Rule], now: datetime, known: date | None = None) \
        -> list[CallSummary]:
    """Every call with its state, next cut-off and budget as of `now` (announced by `known`)."""
    out = []
    for rule in sorted(rules, key=lambda r: (r.type.value, r.id)):
        occ = expand(rule, now, known)
        nxt = next((o for o in occ if o.kind is Kind.CUTOFF and is_upcoming(o, now)
                    and o.status is not Status.CANCELLED), None)
        day = known or now.astimezone(rule.zone).date()
        out.append(CallSummary(rule, call_state(rule, now, known), nxt, budget_as_of(rule, day)))
    return out


def show(rules: Sequence[Rule], name: str, now: datetime, known: date | None = None) \
        -> CallDetail:
    """One call: its facts, every occurrence past and future, amendments as known then."""
    rule = find_rule(rules, name)
    day = known or now.astimezone(rule.zone).date()
    return CallDetail(rule, call_state(rule, now, known), expand(rule, now, known),
                      budget_as_of(rule, day), amendments_known(rule, day),
                      closes_as_of(rule, day))


def days_left(o: Occurrence, now: datetime) -> int:
    """Whole days from the reader's today (`now`, in the reader's zone) to the occurrence's day."""
    if isinstance(o.start, datetime):
        return (o.start.astimezone(now.tzinfo).date() - now.date()).days
    return (o.start - now.date()).days


def fingerprint(paths: Sequence[Path]) -> str:
    """A hash of every rule file's name and content: tells whether the store is up to date."""
    h = hashlib.sha256()
    for f in rule_files(paths):
        h.update(str(f.resolve()).encode() + b"\0")
        try:
            h.update(f.read_bytes())
        except OSError:
            h.update(b"<unreadable>")
        h.update(b"\0")
    return h.hexdigest()


def sync(store: db.Store, paths: Sequence[Path], now: datetime,
         pause_before_commit: float = 0.0) -> db.SyncReport:
    """Load every rule (any error aborts before the database is touched) and apply the diff."""
    rules = load_rules(paths)
    return db.sync(store, rules, expand_all(rules, now), now, fingerprint(paths),
                   pause_before_commit)


def ensure_synced(store: db.Store, paths: Sequence[Path], now: datetime) -> db.SyncReport | None:
    """Sync first when the seeds changed since the store last saw them."""
    if db.is_stale(store, fingerprint(paths), now):
        return sync(store, paths, now)
    return None


def stored_deadlines(store: db.Store, q: Query) -> list[Occurrence]:
    """Like `deadlines`, but read from the store (fast for large rule sets)."""
    ids = tuple(sorted({resolve_call(db.call_names(store), c) for c in q.calls}))
    until = None
    if q.until is not None:  # a day of margin for zones; `select` applies the exact bound
        until = datetime.combine(q.until + timedelta(days=2), time(0), q.now.tzinfo)
    window = db.Window(since=None if q.include_past else q.now - timedelta(days=2), until=until,
                       calls=ids, kinds=tuple(k.value for k in q.kinds),
                       tags=tuple(t.lower() for t in q.tags))
    return select(db.load_occurrences(store, window, q.now), set(ids), q)


def changes(store: db.Store, since: datetime | None, call_ids: Sequence[str] = ()) \
        -> list[db.Change]:
    """What changed (moved, added, cancelled, budget revised), oldest first."""
    return db.changes_since(store, since, call_ids)


@dataclass(frozen=True)
class StatusReport:
    """What `tracker status` shows."""

    now: datetime
    database: str
    last_sync: datetime | None
    scheduler_running: bool
    state: dict[str, tuple[str, datetime]]
    outbox: dict[str, int]
    recent_errors: list[tuple[str, str]]


def status(store: db.Store, now: datetime) -> StatusReport:
    """The store's and the scheduler's state as recorded in the database."""
    try:
        with store.exclusive("status check"):
            running = False
    except StoreError:
        running = True
    synced = db.last_sync(store)
    failed = mail.list_outbox(store, ("failed", "pending"), limit=20)
    errors = [(r.recipient, r.last_error) for r in failed if r.last_error][:10]
    return StatusReport(now, mask(store.url), synced[0] if synced else None, running,
                  db.get_state(store), mail.outbox_counts(store), errors)
