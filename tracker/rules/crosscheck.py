"""Checks that need the whole rule: the open period, references between parts, recurrences."""

from __future__ import annotations

import difflib
from datetime import date, datetime

from tracker.models import Action, Rule, RuleType, Submission
from tracker.rules.checker import Checker
from tracker.rules.schedule import (
    MAX_RECURRENCES,
    find_slot,
    latest_closes,
    recurrence_dates,
    schedule,
)


def nearest(days: list[date], target: date, n: int = 8) -> list[date]:
    """The `n` days nearest `target`, in date order."""
    return sorted(sorted(days, key=lambda d: abs((d - target).days))[:n])


def check_known(c: Checker, rule: Rule) -> None:
    """Warn where nothing says when a call or milestone became known (--as-of relies on it)."""
    if rule.type is RuleType.CALL and rule.announced is None:
        c.warn("announced", "nothing says when this call was announced",
               "add announced = <day> at the top, or a 'published' day to one of its sources")
    for i, m in enumerate(rule.milestones):
        cited = rule.cite(m.source)
        if m.announced is None and (cited is None or cited.published is None):
            c.warn(f"milestones[{i}]", f"nothing says when milestone '{m.key}' became known "
                   "(its own date is used)", "add announced = <day>, or a source with a "
                   "'published' day")


def check_schedule(c: Checker, rule: Rule) -> None:
    """Cross-field checks that need the whole rule: open period, references, recurrences."""
    rec = rule.cutoffs.recurrence
    if rec is not None and len(recurrence_dates(rule)) > MAX_RECURRENCES:
        c.error("cutoffs.every", f"the recurrence gives more than {MAX_RECURRENCES} cut-offs",
                "set an earlier until, a smaller count or a longer interval")
        return
    if rec is not None and rule.closes and rec.until and rec.until > latest_closes(rule):  # type: ignore[operator]
        c.error("cutoffs.until", f"until ({rec.until}) is after the call closes ({rule.closes})",
                "set until on or before 'closes'")
    slots = schedule(rule)

    closes = latest_closes(rule)

    def outside(day: date) -> bool:
        return bool((rule.opens and day < rule.opens) or (closes and day > closes))

    period = f"{rule.opens or '…'} to {closes or '…'}"
    for i, item in enumerate(rule.cutoffs.dates):
        day = item.when.date() if isinstance(item.when, datetime) else item.when
        if outside(day):
            c.error(f"cutoffs.dates[{i}]", f"cut-off {day} is outside the open period ({period})",
                    "fix the date, or 'opens'/'closes'")
    for s in slots:
        if outside(s.scheduled) and s.scheduled not in [d.when for d in rule.cutoffs.dates]:
            c.error("cutoffs.first", f"the recurrence gives {s.scheduled}, outside the open "
                    f"period ({period})", "move 'first' or 'until' inside the open period")
            break
    scheduled = {s.scheduled for s in slots}
    for d in rule.cutoffs.confirmed:
        if d not in scheduled:
            c.error("cutoffs.confirmed", f"{d} is not one of the scheduled cut-offs",
                    "list dates the recurrence or 'dates' produce")
    keys = {m.key for m in rule.milestones}
    for i, a in enumerate(rule.amendments):
        where = f"amendments[{i}]"
        if a.cutoff is not None and find_slot(slots, a.cutoff) is None and not any(
                b.action is Action.ADD and isinstance(b.to, date) and
                (b.to.date() if isinstance(b.to, datetime) else b.to) == a.cutoff
                for b in rule.amendments):
            # the scheduled dates nearest the one written: a typo late in a long series
            # must still show the date that was meant
            near_days = nearest([s.scheduled for s in slots], a.cutoff)
            listed = ", ".join(d.isoformat() for d in near_days) or "none"
            c.error(f"{where}.cutoff", f"no cut-off is scheduled on {a.cutoff}",
                    f"use a date as scheduled: {listed}")
        if a.milestone and a.milestone not in keys:
            near = difflib.get_close_matches(a.milestone, sorted(keys), n=1)
            c.error(f"{where}.milestone", f"no milestone with id '{a.milestone}'",
                    f"did you mean '{near[0]}'?" if near else "use a milestone id from this file")
        if not a.milestone and isinstance(a.to, date) and a.action in (Action.MOVE, Action.ADD):
            day = a.to.date() if isinstance(a.to, datetime) else a.to
            if outside(day):
                c.error(f"{where}.to", f"{day} is outside the open period ({period})",
                        "fix the date, or amend 'closes' in the rule")
    if rule.type is RuleType.CALL:
        n = len(slots)
        if rule.submission is Submission.SINGLE and n > 1:
            c.error("submission", f"a single-deadline call has {n} cut-offs",
                    'use submission = "multiple-cutoff", or list one date')
        if rule.submission is Submission.TWO_STAGE and n != 2:
            c.error("submission", f"a two-stage call needs exactly 2 deadlines, found {n}",
                    'list both under [cutoffs] dates = [{date = ..., label = "stage 1"}, ...]')

