"""Rules -> dated occurrences. Pure: no I/O, no clock; `now` is a parameter."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from tracker.models import (
    Action,
    Amendment,
    Budget,
    BusinessDays,
    FuzzyDate,
    Kind,
    Milestone,
    Occurrence,
    Precision,
    Rule,
    Status,
    Submission,
)

MAX_RECURRENCES = 1000


@dataclass(frozen=True)
class Slot:
    """A cut-off as the rule schedules it, before amendments."""

    key: str  # stable part of the occurrence id
    scheduled: date  # the date as written or generated, before any business-day shift
    when: datetime  # aware instant after the business-day rule
    tentative: bool
    label: str = ""


def at_deadline(rule: Rule, value: date | datetime) -> datetime:
    """A date at the call's deadline time, or a datetime placed in the call's zone."""
    zone = rule.zone
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=zone)
        return value.astimezone(zone)
    return datetime.combine(value, rule.deadline_time, zone)


def is_working_day(day: date, holidays: tuple[date, ...]) -> bool:
    """Monday to Friday and not a listed holiday."""
    return day.weekday() < 5 and day not in holidays


def shift_to_working_day(rule: Rule, day: date) -> date:
    """Apply the rule's business-day policy, never leaving the open period.

    When the policy's direction leaves it (past 'closes', before 'opens'), the other direction
    is tried; when both do, the cut-off stays on its day.
    """
    policy, holidays = rule.cutoffs.business_days, rule.cutoffs.holidays
    if policy is BusinessDays.STAY or is_working_day(day, holidays):
        return day
    first = 1 if policy is BusinessDays.NEXT else -1
    for step in (first, -first):
        moved = day
        while not is_working_day(moved, holidays):
            moved += timedelta(days=step)
        if (rule.opens is None or moved >= rule.opens) and \
                (rule.closes is None or moved <= rule.closes):
            return moved
    return day


def recurrence_dates(rule: Rule, limit: int = MAX_RECURRENCES + 1) -> list[date]:
    """Dates of the cut-off recurrence, at most `limit` of them.

    Months are counted from `first` and a missing day is clipped to the month's end
    (31 Jan + 1 month = 28 Feb): RRULE would silently skip that month's cut-off.
    """
    rec = rule.cutoffs.recurrence
    if rec is None:
        return []
    out: list[date] = []
    while len(out) < limit and (rec.count is None or len(out) < rec.count):
        step = len(out) * rec.interval
        day: date = rec.first + relativedelta(**{rec.unit: step})
        if rec.until is not None and day > rec.until:
            break
        out.append(day)
    return out


def schedule(rule: Rule) -> list[Slot]:
    """The cut-offs the rule schedules before amendments, sorted, one per date."""
    slots: dict[str, Slot] = {}
    cut = rule.cutoffs
    for item in cut.dates:
        day = item.when.date() if isinstance(item.when, datetime) else item.when
        key = item.key or day.isoformat()
        when = at_deadline(rule, item.when)
        if not isinstance(item.when, datetime):
            when = at_deadline(rule, shift_to_working_day(rule, day))
        slots[key] = Slot(key, day, when, item.tentative, item.label)
    confirmed = set(cut.confirmed)
    for day in recurrence_dates(rule):
        key = day.isoformat()
        if key in slots:
            continue
        tentative = bool(cut.condition) and day not in confirmed
        slots[key] = Slot(key, day, at_deadline(rule, shift_to_working_day(rule, day)), tentative)
    return sorted(slots.values(), key=lambda s: (s.when, s.key))


def amendments_known(rule: Rule, today: date) -> list[Amendment]:
    """Amendments announced on or before `today`, in the order they were announced."""
    known = [a for a in rule.amendments if a.announced <= today]
    return sorted(known, key=lambda a: a.announced)  # stable: file order breaks ties


def closes_as_of(rule: Rule, today: date) -> date | None:
    """The closing date with every extension announced by `today` applied."""
    closes = rule.closes
    for a in amendments_known(rule, today):
        if a.closing and a.action is Action.MOVE and isinstance(a.to, date) \
                and not isinstance(a.to, datetime):
            closes = a.to
    return closes


def latest_closes(rule: Rule) -> date | None:
    """The latest closing date the rule ever gives (for checking that cut-offs fit)."""
    days = [a.to for a in rule.amendments if a.closing and isinstance(a.to, date)
            and not isinstance(a.to, datetime)]
    return max([rule.closes, *days]) if rule.closes and days else rule.closes


def next_announcement(rule: Rule, today: date) -> datetime | None:
    """When the rule's view next changes by itself: the first announcement day after `today`
    (midnight in the call's zone), or None."""
    days = [a.announced for a in rule.amendments if a.announced > today]
    days += [m.announced for m in rule.milestones if m.announced and m.announced > today]
    return datetime.combine(min(days), time(0), rule.zone) if days else None


def budget_as_of(rule: Rule, today: date) -> Budget | None:
    """The budget with every revision announced by `today` applied."""
    budget = rule.budget
    if budget is None:
        return None
    for a in amendments_known(rule, today):
        if a.action is Action.BUDGET:
            budget = replace(
                budget,
                amount=a.amount if a.amount is not None else budget.amount,
                remaining=a.remaining if a.remaining is not None else budget.remaining,
            )
    return budget


def find_slot(slots: list[Slot] | dict[str, Slot], day: date) -> Slot | None:
    """The slot scheduled (or landing) on `day`."""
    values = slots.values() if isinstance(slots, dict) else slots
    for s in values:
        if s.scheduled == day:
            return s
    for s in values:
        if s.when.date() == day:
            return s
    return None


def _status(cancelled: bool, passed: bool, moved: bool, tentative: bool) -> Status:
    if cancelled:
        return Status.CANCELLED
    if passed:
        return Status.PASSED
    if moved:
        return Status.MOVED
    return Status.TENTATIVE if tentative else Status.CONFIRMED


@dataclass
class _Live:
    slot: Slot
    when: datetime
    tentative: bool
    cancelled: bool = False
    original: datetime | None = None
    source: str = ""
    note: str = ""


def _cutoffs(rule: Rule, now: datetime, known: date | None = None) -> list[Occurrence]:
    today = known or now.astimezone(rule.zone).date()
    live: dict[str, _Live] = {s.key: _Live(s, s.when, s.tentative) for s in schedule(rule)}
    for a in amendments_known(rule, today):
        if a.action is Action.ADD and isinstance(a.to, date | datetime):
            day = a.to.date() if isinstance(a.to, datetime) else a.to
            slot = Slot(day.isoformat(), day, at_deadline(rule, a.to), a.tentative)
            live[slot.key] = _Live(slot, slot.when, a.tentative, source=a.source, note=a.note)
            continue
        if a.cutoff is None:
            continue
        found = find_slot({k: v.slot for k, v in live.items()}, a.cutoff)
        if found is None:
            continue
        item = live[found.key]
        item.source, item.note = a.source or item.source, a.note or item.note
        if a.action is Action.MOVE and isinstance(a.to, date | datetime):
            item.original = item.original or item.when
            item.when = at_deadline(rule, a.to)
            item.tentative = a.tentative
        elif a.action is Action.CANCEL:
            item.cancelled = True
        elif a.action is Action.CONFIRM:
            item.tentative = False
    ordered = sorted(live.values(), key=lambda i: (i.when, i.slot.key))
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
        out.append(Occurrence(
            id=f"{rule.id}/cutoff/{item.slot.key}",
            call_id=rule.id,
            call_title=rule.title,
            kind=Kind.CUTOFF,
            title=f"{rule.title} — {label}",
            start=item.when,
            timezone=rule.timezone,
            status=_status(item.cancelled, item.when < now, moved, item.tentative),
            precision=Precision.MINUTE,
            tentative=item.tentative,
            original=item.original if moved else None,
            url=rule.url,
            source=item.source or rule.source,
            note=item.note or (rule.cutoffs.condition if item.tentative else ""),
            tags=rule.tags,
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
    return Occurrence(
        id=f"{rule.id}/milestone/{m.key}",
        call_id=rule.id,
        call_title=rule.title,
        kind=Kind.MILESTONE,
        title=m.title,
        start=when.first,
        end=when.last if when.precision is not Precision.DAY else None,
        timezone=rule.timezone,
        status=_status(cancelled, when.last < today, moved, tentative),
        precision=when.precision,
        tentative=tentative,
        original=original if moved else None,
        url=m.url or rule.url,
        source=source,
        note=note,
        tags=rule.tags,
    )


def expand(rule: Rule, now: datetime, known: date | None = None) -> list[Occurrence]:
    """Every occurrence of `rule` at `now`, with what was announced by `known` (default: the
    day of `now` in the call's zone); amendments announced later are ignored."""
    if now.tzinfo is None:
        raise ValueError("now must be time-zone aware")
    zone: ZoneInfo = rule.zone
    today = now.astimezone(zone).date()
    learnt = known or today
    out: list[Occurrence] = []
    if rule.opens is not None:
        out.append(Occurrence(
            id=f"{rule.id}/opening", call_id=rule.id, call_title=rule.title, kind=Kind.OPENING,
            title=f"{rule.title} — opens", start=rule.opens, timezone=rule.timezone,
            status=_status(False, rule.opens < today, False, False), precision=Precision.DAY,
            url=rule.url, source=rule.source, tags=rule.tags,
        ))
    cutoffs = _cutoffs(rule, now, learnt)
    out.extend(cutoffs)
    closes = closes_as_of(rule, learnt)
    if closes is not None:
        closing = at_deadline(rule, closes)
        moved = rule.closes is not None and closes != rule.closes
        original = at_deadline(rule, rule.closes) if moved and rule.closes else None
        # a cut-off on the closing day is the call's last deadline: a separate "closes" entry
        # at deadline_time would claim the call stays open after it (stage 2 at 12:00)
        if not any(c.instant.astimezone(zone).date() == closes
                   for c in cutoffs if c.status is not Status.CANCELLED):
            out.append(Occurrence(
                id=f"{rule.id}/closing", call_id=rule.id, call_title=rule.title,
                kind=Kind.CLOSING, title=f"{rule.title} — closes", start=closing,
                timezone=rule.timezone, status=_status(False, closing < now, moved, False),
                precision=Precision.MINUTE, original=original, url=rule.url,
                source=rule.source, tags=rule.tags,
            ))
    amendments = amendments_known(rule, learnt)
    for m in rule.milestones:
        if m.announced is None or m.announced <= learnt:
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
    """'forthcoming', 'open' or 'closed' on `now` ('policy' for milestone sets)."""
    if rule.opens is None and rule.closes is None:
        return "policy"
    today = now.astimezone(rule.zone).date()
    if rule.opens is not None and today < rule.opens:
        return "forthcoming"
    cut = [o for o in _cutoffs(rule, now, known) if o.status is not Status.CANCELLED]
    closes = closes_as_of(rule, known or today)
    if closes is not None:
        # a cut-off on the closing day is the last deadline (as in `expand`), whatever its hour
        last_day = [o.instant for o in cut if o.instant.astimezone(rule.zone).date() == closes]
        if now > (max(last_day) if last_day else at_deadline(rule, closes)):
            return "closed"
    if rule.closes is None and cut and all(o.status is Status.PASSED for o in cut):
        return "closed"
    return "open"
