"""What the CLI and the web do: rules, expansion and the store tied together. They return
values and never print."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path

from tracker import store as db
from tracker.errors import NotFoundError, Problem, RuleError, StoreError, UsageError
from tracker.models import (
    Amendment,
    Budget,
    Change,
    ChangeKind,
    Filter,
    Kind,
    Occurrence,
    OutboxState,
    Rule,
    Status,
)
from tracker.rules import check_files, load_rules
from tracker.rules.expand import call_state, expand, expand_all, known_on
from tracker.rules.schedule import amendments_known, budget_as_of, closes_as_of
from tracker.store import outbox
from tracker.store.state import get_state
from tracker.store.sync import Orphans
from tracker.urls import mask
from tracker.userinput import call_id


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

    def filter(self, ids: tuple[str, ...]) -> Filter:
        """The query's filter, with call names resolved to `ids`."""
        return Filter(ids, tuple(t.lower() for t in self.tags), self.kinds)


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


def rules_from(paths: Sequence[Path]) -> list[Rule]:
    """Load and validate every rule (RuleError lists every problem)."""
    return load_rules(paths)


STORED = "Shown from the store's last good state: this call's rule file is broken."


def readable_rules(paths: Sequence[Path], store: db.Store | None) -> tuple[list[Rule], str]:
    """The rules for a listing: all of them, or, when a file is broken, the good ones plus the
    last good state the store has of the others (and a one-line warning)."""
    rules, problems = check_files(paths)
    errors = [p for p in problems if not p.warning]
    if not errors:
        return rules, ""
    if store is None:
        raise RuleError(errors)
    from tracker.store.queries import stored_rules

    have = {r.id for r in rules}
    rules += [replace(r, summary=STORED) for r in stored_rules(store) if r.id not in have]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return rules, (f"a rule file is broken, so this shows the last good state: {errors[0]}"
                   f"{more}; run 'tracker check'")


def check(paths: Sequence[Path]) -> tuple[list[Rule], list[Problem]]:
    """Validate rule files; every problem (and warning) of every file."""
    return check_files(paths)


def find_rule(rules: Sequence[Rule], name: str) -> Rule:
    """The rule with this id or official identifier, or NotFoundError with a suggestion."""
    cid = call_id([(r.id, r.identifiers) for r in rules], name)
    return next(r for r in rules if r.id == cid)


def is_upcoming(o: Occurrence, now: datetime) -> bool:
    """Not yet over at `now` (an all-day or fuzzy item counts until its last day ends)."""
    if o.all_day:
        return o.last_day >= now.astimezone(o.instant.tzinfo).date()
    return o.instant >= now


def select(items: Iterable[Occurrence], ids: set[str], q: Query) -> list[Occurrence]:
    """Filter occurrences (of the calls `ids`, if any) by the query; tags match with OR.
    Overdue expectations stay listed until a rule says what became of them."""
    f = q.filter(tuple(sorted(ids)))
    return [o for o in items if f.matches(o)
            and (q.include_past or is_upcoming(o, q.now) or o.status is Status.OVERDUE)
            and (q.until is None or o.instant.date() <= q.until)]


def deadlines(rules: Sequence[Rule], q: Query) -> list[Occurrence]:
    """What is coming (or everything, with include_past), as known on q.now."""
    ids = {find_rule(rules, c).id for c in q.calls}
    return select(expand_all(list(rules), q.now, q.known), ids, q)


def calls(rules: Sequence[Rule], now: datetime, known: date | None = None) \
        -> list[CallSummary]:
    """Every call with its state, next cut-off and budget as of `now` (announced by `known`)."""
    out = []
    for rule in sorted(rules, key=lambda r: (r.type.value, r.id)):
        if not known_on(rule, known or now.astimezone(rule.zone).date()):
            continue
        occ = expand(rule, now, known)
        nxt = next((o for o in occ if o.kind is Kind.CUTOFF and is_upcoming(o, now)
                    and o.status is not Status.CANCELLED), None)
        day = known or now.astimezone(rule.zone).date()
        out.append(CallSummary(rule, call_state(rule, now, known), nxt, budget_as_of(rule, day)))
    return out


def show(rules: Sequence[Rule], name: str, now: datetime, known: date | None = None,
         store: db.Store | None = None) -> CallDetail:
    """One call: its facts, every occurrence past and future, amendments as known then (from
    the store when the rule is only known there, its file being broken)."""
    rule = find_rule(rules, name)
    day = known or now.astimezone(rule.zone).date()
    if store is not None and rule.summary == STORED:
        stored = db.load_occurrences(store, db.Window(calls=(rule.id,)), now)
        return CallDetail(rule, call_state(rule, now, known), stored, rule.budget, [],
                          rule.closes)
    return CallDetail(rule, call_state(rule, now, known), expand(rule, now, known),
                      budget_as_of(rule, day), amendments_known(rule, day),
                      closes_as_of(rule, day))


def days_left(o: Occurrence, now: datetime) -> int:
    """Whole days from the reader's today (`now`, in the reader's zone) to the occurrence's day."""
    if isinstance(o.start, datetime):
        return (o.start.astimezone(now.tzinfo).date() - now.date()).days
    return (o.start - now.date()).days


def sync(store: db.Store, paths: Sequence[Path], now: datetime,
         orphans: Orphans = "keep") -> db.SyncReport:
    """Apply what changed in the rule files (any error aborts before the store is touched);
    `orphans` says what becomes of stored calls whose rule file is gone. Only the files that
    changed are read (tracker.refresh)."""
    from tracker import refresh

    return refresh.sync(store, paths, now, orphans)


@dataclass(frozen=True)
class Freshness:
    """Whether a listing reads the current rules, or the last good state because a rule file
    is broken (then `problem` says which, in one line)."""

    report: db.SyncReport | None = None
    problem: str = ""


def ensure_synced(store: db.Store, paths: Sequence[Path], now: datetime) -> Freshness:
    """Sync first when the rule files changed since the store last saw them (a stat of each
    file when none did). A broken rule file leaves the store at its last good state: reading
    goes on, and the problem is returned."""
    try:
        report = sync(store, paths, now)
        return Freshness(report if report.wrote else None)
    except RuleError as exc:
        first = exc.problems[0]
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        return Freshness(problem=f"a rule file is broken, so this shows the last good state: "
                         f"{first}{more}; run 'tracker check'")


def stored_deadlines(store: db.Store, q: Query) -> list[Occurrence]:
    """Like `deadlines`, but read from the store (fast for large rule sets)."""
    ids = tuple(sorted({call_id(db.call_names(store, c), c) for c in q.calls}))
    until = None
    if q.until is not None:  # a day of margin for zones; `select` applies the exact bound
        until = datetime.combine(q.until + timedelta(days=2), time(0), q.now.tzinfo)
    window = db.Window(since=None if q.include_past else q.now - timedelta(days=2), until=until,
                       calls=ids, kinds=q.kinds, tags=tuple(t.lower() for t in q.tags))
    items = db.load_occurrences(store, window, q.now)
    if not q.include_past:  # expectations that passed unseen stay listed
        late = db.Window(calls=ids, kinds=q.kinds, tags=window.tags, overdue=q.now)
        have = {o.id for o in items}
        items += [o for o in db.load_occurrences(store, late, q.now)
                  if o.status is Status.OVERDUE and o.id not in have]
    return select(sorted(items, key=lambda o: (o.instant, o.id)), set(ids), q)


def changes(store: db.Store, since: date | datetime | None, call_ids: Sequence[str] = ()) \
        -> list[Change]:
    """What changed (moved, added, cancelled, budget revised), one line per change, in the
    order it became known; `since` filters by that day."""
    return history_lines(db.history(store, since, call_ids))


def history_lines(raw: list[Change]) -> list[Change]:
    """One line per change: a new call is one line (its dates are part of it)."""
    from tracker.changes import collapse

    new_calls = {(c.call_id, c.detected_at) for c in raw
                 if c.entity == "call" and c.change is ChangeKind.ADDED}
    return [c for c in collapse(raw) if not (
        c.entity == "occurrence" and c.change is ChangeKind.ADDED
        and (c.call_id, c.detected_at) in new_calls)]


@dataclass(frozen=True)
class StatusReport:
    """What `tracker status` shows."""

    now: datetime
    database: str
    last_sync: datetime | None
    scheduler_running: bool
    state: dict[str, tuple[str, datetime]]
    outbox: dict[OutboxState, int]
    recent_errors: list[tuple[str, str]]
    orphaned: list[str] = field(default_factory=list)


def status(store: db.Store, now: datetime) -> StatusReport:
    """The store's and the scheduler's state as recorded in the database."""
    try:
        with store.exclusive("status check"):
            running = False
    except StoreError:
        running = True
    synced = db.last_sync(store)
    failed = outbox.list_outbox(store, (OutboxState.FAILED, OutboxState.PENDING), limit=20)
    errors = [(r.recipient, r.last_error) for r in failed if r.last_error][:10]
    orphaned = [c.id for c in db.load_calls(store).values() if c.orphaned]
    return StatusReport(now, mask(store.url), synced[0] if synced else None, running,
                        get_state(store), outbox.outbox_counts(store), errors, orphaned)


def snapshots(paths: Sequence[Path]) -> list[tuple[str, int, str]]:
    """Bundled portal snapshots in use: (folder name, rule files, day read), for a notice."""
    import re

    from tracker.rules.files import snapshot_folders

    out = []
    for folder, files in snapshot_folders(paths).items():
        found_day = re.search(r"retrieved = (\d{4}-\d{2}-\d{2})",
                              files[0].read_text(encoding="utf-8"))
        day = found_day.group(1) if found_day else "an unknown day"
        out.append((folder, len(files), day))
    return out


def titles(store: db.Store, now: datetime) -> dict[str, tuple[str, str]]:
    """Every call's and date's (title, zone) by id, for history lines."""
    out = {c.id: (c.title, "") for c in db.load_calls(store).values()}
    window = db.Window(include_withdrawn=True)
    out.update({o.id: (o.title, o.timezone)
                for o in db.load_occurrences(store, window, now)})
    return out


def retry(store: db.Store, ids: Sequence[int], now: datetime) -> int:
    """Failed messages back in the queue; naming one that is not failed is an error."""
    if ids:
        known = {r.id: r for r in outbox.list_outbox(store, limit=100_000) if r.id in ids}
        missing = [i for i in ids if i not in known]
        if missing:
            raise NotFoundError(f"no outbox message {', '.join(map(str, missing))}; "
                                "'tracker outbox' lists them")
        unfit = [i for i in ids if known[i].state is not OutboxState.FAILED]
        if unfit:
            raise UsageError(f"message {', '.join(map(str, unfit))} is not failed "
                             f"({known[unfit[0]].state.value}); only failed mail is retried")
    return outbox.requeue(store, ids, now)
