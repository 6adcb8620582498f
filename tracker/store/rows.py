"""Between domain objects and table rows: what is stored (day-independent), and back."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tracker.models import (
    Budget,
    Evidence,
    Kind,
    Occurrence,
    Precision,
    Rule,
    RuleType,
    Status,
    Submission,
    TimeBasis,
    expected_overdue,
)
from tracker.rules.schedule import budget_as_of
from tracker.store.schema import Stored, from_utc_naive, utc_naive


def moment_text(value: datetime | date | None) -> str:
    """ISO text of a date or an aware instant ('' for none)."""
    return "" if value is None else value.isoformat()


def occurrence_row(o: Occurrence) -> dict[str, Any]:
    """The stored, day-independent form of an occurrence ('passed' is computed when read)."""
    if isinstance(o.start, datetime):
        last = o.start
    else:
        last = datetime.combine(o.last_day + timedelta(days=1), time(0), ZoneInfo(o.timezone))
    return {
        "id": o.id, "call_id": o.call_id, "kind": o.kind.value, "title": o.title,
        "start_local": moment_text(o.start), "start_utc": utc_naive(o.instant),
        "last_utc": utc_naive(last), "all_day": o.all_day, "end_date": o.end,
        "timezone": o.timezone, "precision": o.precision.value, "tentative": o.tentative,
        "status": o.standing.value, "moved_from": moment_text(o.original), "url": o.url,
        "source": o.source, "note": o.note, "evidence": o.evidence.value,
        "time_basis": o.time_basis.value if o.time_basis else "", "source_url": o.source_url,
        "announced": o.announced,
    }


def call_row(rule: Rule, today: date) -> dict[str, Any]:
    """The stored form of a rule's call-level facts, budget as known on `today`."""
    budget = budget_as_of(rule, today)
    return {
        "id": rule.id, "type": rule.type.value, "title": rule.title,
        "identifiers": " ".join(rule.identifiers), "funder": rule.funder, "url": rule.url,
        "timezone": rule.timezone,
        "submission": rule.submission.value if rule.submission else "",
        "opens": rule.opens, "closes": rule.closes,
        "budget_amount": budget.amount if budget else None,
        "budget_currency": budget.currency if budget else "",
        "budget_remaining": budget.remaining if budget else None,
        "budget_approximate": budget.approximate if budget else False,
        "source_file": rule.path, "programmes": "\n".join(rule.programmes),
        "announced": rule.announced,
    }


def row_rule(row: Any, tags: tuple[str, ...]) -> Rule:
    """A stored call back to a Rule with the facts the store keeps (no cut-off schedule,
    sources or amendments): what listings show while the call's rule file is broken."""
    budget = None
    if row.budget_amount is not None:
        budget = Budget(row.budget_amount, row.budget_currency or "EUR",
                        bool(row.budget_approximate), remaining=row.budget_remaining)
    return Rule(
        id=row.id, type=RuleType(row.type), title=row.title, path=row.source_file,
        timezone=row.timezone, identifiers=tuple(row.identifiers.split()), funder=row.funder,
        programmes=tuple(p for p in row.programmes.split("\n") if p), url=row.url, tags=tags,
        opens=row.opens, closes=row.closes,
        submission=Submission(row.submission) if row.submission else None, budget=budget,
        announced=row.announced)


def _parse_moment(text: str, zone: str) -> datetime | date | None:
    if not text:
        return None
    if "T" in text:
        return datetime.fromisoformat(text).astimezone(ZoneInfo(zone))
    return date.fromisoformat(text)


# enum members by stored value: a dict lookup is several times cheaper than Enum(value),
# which counts when a listing reads tens of thousands of rows
_STATUS = {s.value: s for s in Status}
_KIND = {k.value: k for k in Kind}
_PRECISION = {p.value: p for p in Precision}
_EVIDENCE = {e.value: e for e in Evidence}
_BASIS = {b.value: b for b in TimeBasis}


def row_occurrence(row: Any, tags: tuple[str, ...], now: datetime, call_title: str,
                   programmes: tuple[str, ...] = ()) -> Occurrence:
    """A stored row back to an Occurrence, with 'passed' (or 'overdue') computed for `now`."""
    start = _parse_moment(row.start_local, row.timezone)
    assert start is not None
    cancelled = row.status in (Stored.WITHDRAWN, Status.CANCELLED)
    status = Status.CANCELLED if cancelled else _STATUS[row.status]
    kind = _KIND[row.kind]
    if not cancelled and from_utc_naive(row.last_utc) <= now:
        status = Status.OVERDUE if expected_overdue(kind, row.tentative, False) else Status.PASSED
    return Occurrence(
        id=row.id, call_id=row.call_id, call_title=call_title, kind=kind,
        title=row.title, start=start, timezone=row.timezone, status=status,
        precision=_PRECISION[row.precision], tentative=row.tentative, end=row.end_date,
        original=_parse_moment(row.moved_from, row.timezone), url=row.url, source=row.source,
        note=row.note, tags=tags, source_url=row.source_url, evidence=_EVIDENCE[row.evidence],
        time_basis=_BASIS[row.time_basis] if row.time_basis else None,
        announced=row.announced, programmes=programmes,
    )
