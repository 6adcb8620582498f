"""Changes as people read them: 'moved from 4 Feb 17:00 CET to 1 Feb 17:00 CET'. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from tracker.models import Change

FIELD_LABELS = {"start_local": "date", "budget_amount": "budget", "budget_remaining":
                "remaining budget", "budget_currency": "currency", "tentative": "tentative",
                "status": "status", "title": "title", "note": "note", "url": "link"}
_PRIORITY = {"start_local": 0, "status": 1, "budget_remaining": 2, "budget_amount": 3}


def moment(text: str, zone: str) -> str:
    """An ISO instant shown in a zone ('2025-02-01 17:00 CET'); dates and text unchanged."""
    if "T" not in text:
        return text or "—"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return text
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def describe(change: Change, zone: str) -> str:
    """What happened, in a few words."""
    label = FIELD_LABELS.get(change.field, change.field.replace("_", " "))
    if change.change == "moved" and change.field == "start_local":
        return f"moved from {moment(change.old, zone)} to {moment(change.new, zone)}"
    if change.change == "cancelled":
        return "cancelled"
    if change.change == "withdrawn":
        return "removed from the call's schedule"
    if change.change == "merged":
        return "now falls together with the call's last cut-off"
    if change.change == "restored":
        return "back in the schedule"
    if change.change == "added":
        return "new"
    if change.field == "tentative" and change.new == "no":
        return "confirmed"
    if change.field == "tentative" and change.new == "yes":
        return "now tentative"
    return f"{label} changed from {moment(change.old, zone)} to {moment(change.new, zone)}"


def collapse(changes: Sequence[Change]) -> list[Change]:
    """One line per item and sync: the most telling field of each change, oldest first."""
    best: dict[tuple[str, str, object], Change] = {}
    for c in changes:
        if c.field == "moved_from":
            continue
        key = (c.entity_id, c.change, c.detected_at)
        held = best.get(key)
        if held is None or _PRIORITY.get(c.field, 9) < _PRIORITY.get(held.field, 9):
            best[key] = c
    return sorted(best.values(),
                  key=lambda c: (c.detected_at.timestamp() if c.detected_at else 0.0, c.entity_id))
