"""Rules -> dated occurrences, each saying how it is known. Pure: no I/O, no clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tracker.models import (
    Action,
    Amendment,
    Evidence,
    FuzzyDate,
    Kind,
    Milestone,
    Occurrence,
    Precision,
    Rule,
    Status,
    Submission,
    TimeBasis,
    expected_overdue,
)
from tracker.rules.schedule import (
    Slot,
    amendments_known,
    at_deadline,
    closes_as_of,
    find_slot,
    milestone_announced,
    schedule,
)


def _status(cancelled: bool, passed: bool, moved: bool, tentative: bool,
             overdue: bool = False) -> Status:
    if cancelled:
        return Status.CANCELLED
    if passed:
        return Status.OVERDUE if overdue else Status.PASSED
    if moved:
        return Status.MOVED
    return Status.TENTATIVE if tentative else Status.CONFIRMED


@dataclass(frozen=True)
class _Known:
    """How a date is known: its source (a reference of the rule) and how good that is."""

    ref: str
    derived: bool = False
    hour_given: bool = False  # the date itself carries its hour (a date-time in the file)


def _occurrence(rule: Rule, known: _Known, **fields: Any) -> Occurrence:
    """An occurrence of `rule` with the call's common facts and its evidence filled in."""
    source = rule.cite(known.ref)
    if rule.withdrawn:
        fields["status"] = Status.CANCELLED
        fields["note"] = "Withdrawn: the call is no longer listed by its source."
    if known.derived:
        evidence = Evidence.DERIVED
    else:
        evidence = source.evidence if source is not None else Evidence.UNSOURCED
    timed = isinstance(fields["start"], datetime)
    basis = (TimeBasis.STATED if known.hour_given else rule.time_basis) if timed else None
    fields.setdefault("url", rule.url)
    return Occurrence(
        call_id=rule.id, call_title=rule.title, timezone=rule.timezone, tags=rule.tags,
        programmes=rule.programmes, evidence=evidence, time_basis=basis,
        source=source.title if source else "", source_url=source.url if source else "",
        **fields)


@dataclass
class _Live:
    slot: Slot
    when: datetime
    tentative: bool
    known: _Known
    cancelled: bool = False
    original: datetime | None = None
    note: str = ""


def _live_cutoffs(rule: Rule, learnt: date) -> list[_Live]:
    """The schedule with every amendment announced by `learnt` applied."""
    confirmed = set(rule.cutoffs.confirmed)
    listed = {item.key or (item.when.date() if isinstance(item.when, datetime) else item.when)
              .isoformat(): item for item in rule.cutoffs.dates}
    live: dict[str, _Live] = {}
    for s in schedule(rule):
        item = listed.get(s.key)
        if item is not None:
            known = _Known(item.source or rule.source, hour_given=isinstance(item.when, datetime))
        else:
            known = _Known(rule.source, derived=s.scheduled not in confirmed)
        live[s.key] = _Live(s, s.when, s.tentative, known)
    for a in amendments_known(rule, learnt):
        _amend(rule, live, a)
    return sorted(live.values(), key=lambda i: (i.when, i.slot.key))


def _amend(rule: Rule, live: dict[str, _Live], a: Amendment) -> None:
    hour = isinstance(a.to, datetime)
    if a.action is Action.ADD and isinstance(a.to, date | datetime):
        day = a.to.date() if isinstance(a.to, datetime) else a.to
        slot = Slot(day.isoformat(), day, at_deadline(rule, a.to), a.tentative)
        live[slot.key] = _Live(slot, slot.when, a.tentative, _Known(a.source or rule.source,
                               hour_given=hour), note=a.note)
        return
    if a.cutoff is None:
        return
    found = find_slot({k: v.slot for k, v in live.items()}, a.cutoff)
    if found is None:
        return
    item = live[found.key]
    item.note = a.note or item.note
    if a.action is Action.MOVE and isinstance(a.to, date | datetime):
        item.original = item.original or item.when
        item.when = at_deadline(rule, a.to)
        item.tentative = a.tentative
        item.known = _Known(a.source or item.known.ref, hour_given=hour)
    elif a.action is Action.CANCEL:
        item.cancelled = True
    elif a.action is Action.CONFIRM:
        item.tentative = False
        item.known = _Known(a.source or item.known.ref, hour_given=item.known.hour_given)


def _cutoffs(rule: Rule, now: datetime, learnt: date) -> list[Occurrence]:
    ordered = _live_cutoffs(rule, learnt)
    single = rule.submission is Submission.SINGLE and len(ordered) == 1
    out: list[Occurrence] = []
    number = 0
    for item in ordered:
        if not item.cancelled:
            number += 1
        label = item.slot.label or ("deadline" if single else f"cut-off {number}")
        if item.cancelled and not item.slot.label:
            label = f"cut-off of {item.slot.when.date().isoformat()}"
        moved = item.original is not None and item.original != item.when
        out.append(_occurrence(
            rule, item.known, id=f"{rule.id}/cutoff/{item.slot.key}", kind=Kind.CUTOFF,
            title=f"{rule.title} — {label}", start=item.when,
            status=_status(item.cancelled, item.when < now, moved, item.tentative),
            precision=Precision.MINUTE, tentative=item.tentative,
            original=item.original if moved else None,
            note=item.note or (rule.cutoffs.condition if item.tentative else ""),
        ))
    return out


def _milestone(rule: Rule, m: Milestone, amendments: list[Amendment], today: date) -> Occurrence:
    when, tentative, cancelled = m.when, m.tentative, False
    original: date | None = None
    source, note = m.source, m.note
    for a in amendments:
        if a.milestone != m.key:
            continue
        source, note = a.source or source, a.note or note
        if a.action is Action.MOVE and a.to is not None:
            original = original or when.first
            if isinstance(a.to, FuzzyDate):
                when = a.to
            else:
                day = a.to.date() if isinstance(a.to, datetime) else a.to
                when = FuzzyDate(day, Precision.DAY)
            tentative = a.tentative
        elif a.action is Action.CANCEL:
            cancelled = True
        elif a.action is Action.CONFIRM:
            tentative = False
    moved = original is not None and original != when.first
    overdue = expected_overdue(Kind.MILESTONE, tentative, cancelled)
    return _occurrence(
        rule, _Known(source), id=f"{rule.id}/milestone/{m.key}", kind=Kind.MILESTONE,
        title=m.title, start=when.first,
        end=when.last if when.precision is not Precision.DAY else None,
        status=_status(cancelled, when.last < today, moved, tentative, overdue),
        precision=when.precision, tentative=tentative, original=original if moved else None,
        url=m.url or rule.url, note=note, announced=milestone_announced(rule, m),
    )


def known_on(rule: Rule, day: date) -> bool:
    """Whether the call had been announced by `day` (a rule with no announced day always was)."""
    return rule.announced is None or rule.announced <= day


def expand(rule: Rule, now: datetime, known: date | None = None) -> list[Occurrence]:
    """Every occurrence of `rule` at `now`, with what was announced by `known` (default: the
    day of `now` in the call's zone); a call, milestone or amendment announced later is not
    there yet."""
    if now.tzinfo is None:
        raise ValueError("now must be time-zone aware")
    zone = rule.zone
    today = now.astimezone(zone).date()
    learnt = known or today
    if not known_on(rule, learnt):
        return []
    out: list[Occurrence] = []
    base = _Known(rule.source)
    if rule.opens is not None:
        out.append(_occurrence(
            rule, base, id=f"{rule.id}/opening", kind=Kind.OPENING,
            title=f"{rule.title} — opens", start=rule.opens,
            status=_status(False, rule.opens < today, False, False), precision=Precision.DAY,
            announced=rule.announced))
    cutoffs = _cutoffs(rule, now, learnt)
    out.extend(cutoffs)
    closes = closes_as_of(rule, learnt)
    # a cut-off on the closing day is the call's last deadline: a separate "closes" entry
    # at deadline_time would claim the call stays open after it (stage 2 at 12:00)
    if closes is not None and not any(c.instant.astimezone(zone).date() == closes
                                      for c in cutoffs if c.status is not Status.CANCELLED):
        closing = at_deadline(rule, closes)
        moved = rule.closes is not None and closes != rule.closes
        extension = next((a for a in reversed(amendments_known(rule, learnt)) if a.closing), None)
        out.append(_occurrence(
            rule, _Known(extension.source or rule.source) if moved and extension else base,
            id=f"{rule.id}/closing", kind=Kind.CLOSING, title=f"{rule.title} — closes",
            start=closing, status=_status(False, closing < now, moved, False),
            precision=Precision.MINUTE,
            original=at_deadline(rule, rule.closes) if moved and rule.closes else None))
    amendments = amendments_known(rule, learnt)
    for m in rule.milestones:
        day = milestone_announced(rule, m)
        if day is None or day <= learnt:
            out.append(_milestone(rule, m, amendments, today))
    return sort_occurrences(out)


def sort_occurrences(items: list[Occurrence]) -> list[Occurrence]:
    """Chronological, ties broken by id: the one order used everywhere."""
    return sorted(items, key=lambda o: (o.instant, o.id))


def expand_all(rules: list[Rule], now: datetime, known: date | None = None) \
        -> list[Occurrence]:
    """Occurrences of many rules, merged in one order."""
    out: list[Occurrence] = []
    for rule in rules:
        out.extend(expand(rule, now, known))
    return sort_occurrences(out)


def call_state(rule: Rule, now: datetime, known: date | None = None) -> str:
    """'forthcoming', 'open', 'closed' or 'withdrawn' on `now` ('policy' for milestone sets)."""
    if rule.withdrawn:
        return "withdrawn"
    if rule.opens is None and rule.closes is None:
        return "policy"
    today = now.astimezone(rule.zone).date()
    if rule.opens is not None and today < rule.opens:
        return "forthcoming"
    learnt = known or today
    cut = [o for o in _cutoffs(rule, now, learnt) if o.status is not Status.CANCELLED]
    closes = closes_as_of(rule, learnt)
    if closes is not None:
        # a cut-off on the closing day is the last deadline (as in `expand`), whatever its hour
        last_day = [o.instant for o in cut if o.instant.astimezone(rule.zone).date() == closes]
        if now > (max(last_day) if last_day else at_deadline(rule, closes)):
            return "closed"
    if rule.closes is None and cut and all(o.status is Status.PASSED for o in cut):
        return "closed"
    return "open"
