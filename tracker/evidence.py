"""How a date is known, in words a person understands: 'reported by eubusiness.com; time
assumed 17:00 Brussels'. Pure; used by listings, feeds, digests and pages alike."""

from __future__ import annotations

from datetime import datetime

from tracker.models import Evidence, Occurrence, Status, TimeBasis


def city(zone: str) -> str:
    """'Europe/Brussels' -> 'Brussels' (what people call a zone)."""
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def date_words(o: Occurrence) -> str:
    """Where the date comes from: official, reported by whom, derived, or no source."""
    if o.evidence is Evidence.OFFICIAL:
        return f"official ({o.source})" if o.source else "official"
    if o.evidence is Evidence.REPORTED:
        return f"reported by {o.source}" if o.source else "reported by secondary sources"
    if o.evidence is Evidence.DERIVED:
        return "derived from the call's recurring schedule, not confirmed by a source"
    return "no source recorded"


def time_words(o: Occurrence) -> str:
    """Whether the hour is stated: '' when it is (or the item is all-day)."""
    if not isinstance(o.start, datetime) or o.time_basis in (None, TimeBasis.STATED):
        return ""
    hour = f"{o.start:%H:%M} {city(o.timezone)}"
    if o.time_basis is TimeBasis.CONVENTION:
        return f"time {hour} by the funder's convention (not stated for this call)"
    return f"time assumed {hour} (no source gives the hour)"


def words(o: Occurrence) -> str:
    """Both, in one phrase: 'reported by grantalist.com; time assumed 17:00 Brussels'."""
    return "; ".join(p for p in (date_words(o), time_words(o)) if p)


def marker(o: Occurrence) -> str:
    """A short mark for a calendar title or a table cell; '' for an official, firm date."""
    if o.status is Status.CANCELLED:
        return "cancelled"
    if o.status is Status.OVERDUE:
        return "overdue"
    if o.evidence is Evidence.DERIVED:
        return "derived"
    if o.evidence is Evidence.REPORTED:
        return "reported"
    if o.evidence is Evidence.UNSOURCED:
        return "no source"
    return "tentative" if o.tentative else ""


def overdue_words(o: Occurrence, today: datetime) -> str:
    """'expected Q4 2025 — not seen yet, 11 months overdue' for an overdue item."""
    months = (today.year - o.last_day.year) * 12 + today.month - o.last_day.month
    late = f"{months} month{'s' if months != 1 else ''}" if months >= 1 else \
        f"{(today.date() - o.last_day).days} days"
    return f"expected {o.when_label()} — not seen yet, {late} overdue"
