"""What a rule's amendments did, each on the day it was announced: the rule file's own history.

Pure: each amendment day's view is compared with the day before's (two expansions), so the
history says exactly what listings said on those days, and no amendment logic is written twice.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from tracker.models import Action, Change, ChangeKind, Kind, Occurrence, Rule, Status
from tracker.rules.expand import expand, known_on
from tracker.rules.schedule import budget_as_of


def _value(o: Occurrence) -> str:
    return o.start.isoformat()


def _occurrence_changes(before: dict[str, Occurrence], after: dict[str, Occurrence],
                        adds: bool) -> list[tuple[Occurrence, ChangeKind, str, str, str]]:
    out: list[tuple[Occurrence, ChangeKind, str, str, str]] = []
    for oid, new in after.items():
        old = before.get(oid)
        if old is None:
            if adds and new.kind is Kind.CUTOFF:
                out.append((new, ChangeKind.ADDED, "start_local", "", _value(new)))
            continue
        if old.start != new.start:
            out.append((new, ChangeKind.MOVED, "start_local", _value(old), _value(new)))
        elif new.standing is Status.CANCELLED and old.standing is not Status.CANCELLED:
            out.append((new, ChangeKind.CANCELLED, "status", old.standing.value, "cancelled"))
        elif old.tentative and not new.tentative:
            out.append((new, ChangeKind.CONFIRMED, "tentative", "yes", "no"))
    return out


def rule_history(rule: Rule, now: datetime, today: date) -> list[Change]:
    """Every change the rule's amendments made, announced by `today`, oldest first."""
    out: list[Change] = []
    for day in sorted({a.announced for a in rule.amendments if a.announced <= today}):
        if not known_on(rule, day - timedelta(days=1)):
            continue  # amended before the call itself was known: nothing to tell apart
        todays = [a for a in rule.amendments if a.announced == day]
        cited = rule.cite(next((a.source for a in todays if a.source), "") or rule.source)
        source, url = (cited.title, cited.url) if cited else ("", "")
        before = {o.id: o for o in expand(rule, now, day - timedelta(days=1))}
        after = {o.id: o for o in expand(rule, now, day)}
        adds = any(a.action is Action.ADD for a in todays)
        for o, kind, name, old, new in _occurrence_changes(before, after, adds):
            out.append(Change("occurrence", o.id, rule.id, kind, name, old, new, None, source,
                              day, url))
        was, now_budget = budget_as_of(rule, day - timedelta(days=1)), budget_as_of(rule, day)
        if was and now_budget:
            for name, a, b in (("budget_amount", was.amount, now_budget.amount),
                               ("budget_remaining", was.remaining, now_budget.remaining)):
                if a != b:
                    out.append(Change("call", rule.id, rule.id, ChangeKind.BUDGET, name,
                                      "" if a is None else str(a), "" if b is None else str(b),
                                      None, source, day, url))
    return out
