"""Changes as people read them: 'moved from 2025-02-04 17:00 CET to 2025-02-01 17:00 CET'. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from tracker.models import Change, ChangeKind, moment_label, money

FIELD_LABELS = {"start_local": "date", "budget_amount": "budget", "budget_remaining":
                "remaining budget", "budget_currency": "currency", "tentative": "tentative",
                "status": "status", "title": "title", "note": "note", "url": "link"}
SHOWN_FIELDS = {"start_local", "status", "tentative", "title", "budget_amount",
                "budget_remaining", "closes", "opens", "url"}
_PRIORITY = {"start_local": 0, "status": 1, "budget_remaining": 2, "budget_amount": 3}


def moment(text: str, zone: str) -> str:
    """An ISO instant shown in a zone ('2025-02-01 17:00 CET'); dates and text unchanged."""
    if "T" not in text:
        return text or "—"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return text
    return moment_label(value.astimezone(ZoneInfo(zone)))


def _amount(text: str, currency: str) -> str:
    return money(int(text), currency) if text.isdigit() else text or "—"


def describe(change: Change, zone: str, currency: str = "EUR") -> str:
    """What happened, in a few words."""
    label = FIELD_LABELS.get(change.field, change.field.replace("_", " "))
    kind = change.change
    if kind is ChangeKind.BASELINE:
        return f"tracking started: {change.new}"
    if kind is ChangeKind.MOVED and change.field == "start_local":
        return f"moved from {moment(change.old, zone)} to {moment(change.new, zone)}"
    if kind is ChangeKind.BUDGET:
        return f"{label}: {_amount(change.old, currency)} -> {_amount(change.new, currency)}"
    simple = {ChangeKind.CANCELLED: "cancelled", ChangeKind.WITHDRAWN:
              "removed from the call's schedule", ChangeKind.MERGED:
              "now falls together with the call's last cut-off", ChangeKind.RESTORED:
              "back in the schedule", ChangeKind.CONFIRMED: "confirmed"}
    if kind in simple:
        return simple[kind]
    if kind is ChangeKind.ADDED:
        return f"new: {moment(change.new, zone)}" if "T" in change.new else "new"
    if change.field == "tentative":
        return "confirmed" if change.new == "no" else "now tentative"
    return f"{label} changed from {moment(change.old, zone)} to {moment(change.new, zone)}"


def shown(c: Change) -> bool:
    """Whether a person would call this a change (a corrected source link is not one)."""
    return c.change is not ChangeKind.CHANGED or c.field in SHOWN_FIELDS


def collapse(changes: Sequence[Change]) -> list[Change]:
    """One line per item and change: its most telling field, in the order they became known."""
    best: dict[tuple[str, str, object, object], Change] = {}
    for c in changes:
        if c.field == "moved_from" or not shown(c):
            continue
        key = (c.entity_id, c.change, c.detected_at, c.announced)
        held = best.get(key)
        if held is None or _PRIORITY.get(c.field, 9) < _PRIORITY.get(held.field, 9):
            best[key] = c
    return sorted(best.values(), key=lambda c: (c.known_on or date.min, c.id or 0,
                                                c.entity_id))
