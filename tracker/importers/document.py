"""ImportedCall -> rule document (a dict), and re-import history: moves, cancels, withdrawal.

Pure: the previous file's document and the retrieval time come in; nothing here reads files
or the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from tracker.importers.model import ImportedCall
from tracker.importers.tomlwrite import dumps

PORTAL = "portal"  # the source key of every importer-written file and amendment
INLINE = {"sources.portal", "cutoffs.dates"}
NOT_OVERRIDABLE = {"id", "cutoffs", "opens", "closes", "submission", "sources", "source",
                   "withdrawn"}
SOURCE_NAMES = {"ftportal": "the EU Funding & Tenders Portal", "grantsgov": "Grants.gov"}


def _when(day: date, at: Any) -> date | datetime:
    return datetime.combine(day, at) if at is not None else day


def _day(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


def to_document(call: ImportedCall) -> dict[str, Any]:
    """The rule document of one imported call, with no history yet."""
    dates = []
    for d in call.deadlines:
        item: dict[str, Any] = {"date": _when(d.day, d.at), "key": d.key}
        if d.label:
            item["label"] = d.label
        if d.tentative:
            item["tentative"] = True
        dates.append(item)
    doc: dict[str, Any] = {
        "id": call.rule_id, "type": "call", "title": call.title,
        "identifiers": list(call.identifiers), "funder": call.funder or None,
        "programmes": list(call.programmes) or None, "url": call.url, "tags": list(call.tags),
        "summary": call.summary or None, "timezone": call.timezone,
        "deadline_time": call.deadline_time, "deadline_time_basis": call.time_basis.value,
        "announced": call.announced, "opens": call.opens, "closes": call.closes(),
        "submission": call.submission, "source": PORTAL,
        "sources": {PORTAL: {"title": call.source_title, "url": call.url,
                             "retrieved": call.retrieved}},
        "cutoffs": {"dates": dates},
    }
    if call.expected:
        doc["milestones"] = [{"id": e.key, "title": e.title, "date": e.when,
                              "tentative": e.tentative or None, "source": PORTAL}
                             for e in call.expected]
    if not call.deadlines:  # a forecast known to the year: dated events, no cut-off yet
        doc.update(type="milestones", submission=None, cutoffs=None, closes=None,
                   deadline_time=None, deadline_time_basis=None)
    if call.budget is not None:
        parts = []
        for p in call.budget_parts:
            part: dict[str, Any] = {"name": p.name}
            if p.amount is not None:
                part["amount"] = p.amount
            if p.note:
                part["note"] = p.note
            parts.append(part)
        doc["budget"] = {"amount": call.budget, "currency": call.currency,
                         "note": call.budget_note or None, "parts": parts or None,
                         "source": PORTAL}
    return doc


def history_of(old: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], set[str], date]:
    """Original and current value per cut-off key, cancelled keys, current closing day."""
    original = {d["key"]: d["date"] for d in old["cutoffs"]["dates"]}
    by_day = {_day(v): k for k, v in original.items()}
    current = dict(original)
    cancelled: set[str] = set()
    closes: date = old["closes"]
    for a in old.get("amendments", []):
        name = by_day.get(a.get("cutoff"))
        if a.get("action") == "move" and a.get("closing"):
            closes = _day(a["to"])
        if name is None:
            continue
        if a.get("action") == "move":
            current[name] = a["to"]
        elif a.get("action") == "cancel":
            cancelled.add(name)
    return original, current, cancelled, closes


def merge_history(new: dict[str, Any], old: Mapping[str, Any] | None, announced: date,
                  what: str) -> tuple[dict[str, Any], list[str]]:
    """The new document keeping the old file's first dates, plus a move per changed deadline.

    Returns the document and one line per change ("stage-1: 2027-04-08 -> 2027-04-15").
    A file whose submission model changed starts afresh.
    """
    if old is None or old.get("submission") != new["submission"] or not old.get("cutoffs") \
            or not new.get("cutoffs"):
        return new, []
    original, current, cancelled, closes = history_of(old)
    amendments = [dict(a) for a in old.get("amendments", []) if a.get("source") == PORTAL]
    dates = [dict(d) for d in old["cutoffs"]["dates"]]
    changes: list[str] = []
    note = f"Changed on {what} (seen {announced.isoformat()})."
    wanted = {d["key"]: d for d in new["cutoffs"]["dates"]}
    for name, item in wanted.items():
        if name not in original:
            dates.append(dict(item))
            changes.append(f"{name}: new cut-off {item['date']}")
        elif item["date"] != current[name] or name in cancelled:
            move: dict[str, Any] = {"action": "move", "announced": announced,
                                    "cutoff": _day(original[name]), "to": item["date"],
                                    "source": PORTAL, "note": note}
            if _day(current[name]) == closes or _day(item["date"]) > closes:
                move["closing"] = True
                closes = _day(item["date"])
            amendments.append(move)
            cancelled.discard(name)
            changes.append(f"{name}: {current[name]} -> {item['date']}")
    for name in sorted(set(original) - set(wanted) - cancelled):
        amendments.append({"action": "cancel", "announced": announced,
                           "cutoff": _day(original[name]), "source": PORTAL,
                           "note": f"No longer listed on {what}."})
        changes.append(f"{name}: cancelled")
    first = min(_day(d["date"]) for d in dates)
    merged = dict(new)
    merged["cutoffs"] = {**new["cutoffs"], "dates": dates}
    merged["closes"] = max([old["closes"], *(_day(d["date"]) for d in dates)])
    merged["opens"] = new["opens"] if new["opens"] is None or new["opens"] <= first \
        else old.get("opens")
    merged["amendments"] = amendments or None
    if old.get("announced") and new.get("announced"):
        merged["announced"] = min(old["announced"], new["announced"])  # known since, not later
    return merged, changes


def apply_overrides(doc: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A person's override file on top of the imported document (amendments are appended)."""
    out = dict(doc)
    for k, v in overrides.items():
        if k in NOT_OVERRIDABLE:
            continue
        if k == "amendments":
            out[k] = [*(out.get(k) or []), *v]
        else:
            out[k] = v
    return out


def header(source: str, rule_id: str, overridden: list[str]) -> list[str]:
    """The comment lines at the top of an imported file."""
    lines = [f"Imported from {SOURCE_NAMES.get(source, source)} by `tracker import {source}`.",
             "Rewritten by every import. To change a fact for good, put the key in",
             f"{rule_id}.override next to this file (TOML, same keys); it is applied on each "
             "import."]
    if overridden:
        lines.append(f"Overridden here from {rule_id}.override: {', '.join(sorted(overridden))}.")
    return lines


def render(doc: Mapping[str, Any], source: str, overridden: list[str]) -> str:
    """The rule file's text: the same document always gives the same bytes."""
    return dumps(doc, header(source, str(doc["id"]), overridden), INLINE)
