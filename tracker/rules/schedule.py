"""When a rule's cut-offs fall before amendments, and what its amendments say as of a day. Pure."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta

from tracker.models import Action, Amendment, Budget, BusinessDays, Milestone, Rule

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
    days += [d for m in rule.milestones if (d := milestone_announced(rule, m)) and d > today]
    if rule.announced and rule.announced > today:
        days.append(rule.announced)
    return datetime.combine(min(days), time(0), rule.zone) if days else None


def milestone_announced(rule: Rule, m: Milestone) -> date | None:
    """When a milestone became known: as written, else its source's publication day, else
    (when nothing says) its own first day: an event is known once it happens."""
    if m.announced is not None:
        return m.announced
    source = rule.cite(m.source)
    if source is not None and source.published is not None:
        return source.published
    return m.when.first


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

