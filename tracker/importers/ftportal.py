"""EU Funding & Tenders Portal: search-API records -> ImportedCall (pure mapping, no I/O).

One rule per topic, tagged with its call: a topic has its own deadlines, budget, type of action
and page on the portal, and it is what applicants apply to; the call is kept as an identifier,
a tag and a line of the summary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

from tracker.importers.model import (
    BudgetLine,
    Deadline,
    ImportedCall,
    ParseResult,
    Skipped,
    TimeBasis,
)

SOURCE = "ftportal"
TOPIC_URL = ("https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/"
             "opportunities/topic-details/{}")
PROGRAMMES: dict[str, str] = {
    "43108390": "Horizon Europe",
    "43152860": "Digital Europe Programme",
    "43332642": "EU4Health",
    "44181033": "European Defence Fund",
    "43251567": "Connecting Europe Facility",
    "43353764": "Erasmus+",
    "43252405": "LIFE Programme",
}
STATUS_HINTS = {"31094501": "forthcoming", "31094502": "open", "31094503": "closed"}
STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{4}|"
                   r"[+-]\d{2}:\d{2})?)?$")
ID_IN_TEXT = re.compile(r'"identifier"\s*:\s*\[\s*"([^"]+)"')
PRIMARY_DATASOURCE = "SEDIA"


class RecordError(ValueError):
    """A record that cannot become a rule; the message says why."""


def slug(text: str) -> str:
    """Lower-case slug of any text, as rule ids and tags need it."""
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")


def _first(meta: Mapping[str, Any], key: str) -> str:
    values = meta.get(key) or []
    if isinstance(values, str):
        return values.strip()
    return str(values[0]).strip() if values else ""


def _all(meta: Mapping[str, Any], key: str) -> list[str]:
    values = meta.get(key) or []
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for v in values:
        text = str(v).strip()
        if text.startswith("[") and text.endswith("]"):  # older copies: a JSON array in a string
            try:
                inner = json.loads(text)
            except ValueError:
                inner = None
            if isinstance(inner, list):
                out.extend(str(i).strip() for i in inner)
                continue
        if text:
            out.append(text)
    return out


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for v in values:
        if v and v.lower() not in (s.lower() for s in seen):
            seen[v] = None
    return tuple(seen)


def parse_stamp(text: str) -> tuple[date, time | None]:
    """A portal stamp -> (day, hour): T00:00 stands for the day only (the 17:00 convention)."""
    m = STAMP.match(text.strip())
    if not m:
        raise RecordError(f"deadline '{text}' is not a date")
    try:
        day = date.fromisoformat(m.group(1))
        at = time(int(m.group(2)), int(m.group(3))) if m.group(2) else None
    except ValueError as exc:
        raise RecordError(f"deadline '{text}' is not a date: {exc}") from None
    return day, (None if at == time(0, 0) else at)


def _deadlines(model: str, stamps: Sequence[tuple[date, time | None]]) \
        -> tuple[str, list[Deadline]]:
    stamps = sorted(set(stamps), key=lambda s: (s[0], s[1] or time(0)))
    if model == "two-stage" and len(stamps) == 2:
        return "two-stage", [Deadline(f"stage-{i}", d, t, f"Stage {i}")
                             for i, (d, t) in enumerate(stamps, start=1)]
    if len(stamps) == 1:
        d, t = stamps[0]
        return "single", [Deadline("deadline", d, t)]
    return "multiple-cutoff", [Deadline(f"cutoff-{i}", d, t, f"Cut-off {i}")
                               for i, (d, t) in enumerate(stamps, start=1)]


def _json_list(text: str) -> list[Any]:
    """The objects of a JSON array or document, or those that survive a cut-off string."""
    try:
        value = json.loads(text)
        return value if isinstance(value, list) else [value]
    except ValueError:
        return []


def budget_lines(overview: str, identifier: str) -> tuple[list[dict[str, Any]], bool]:
    """This topic's action lines from `budgetOverview`, and whether the JSON was cut off.

    The map covers the whole call; a line belongs to the topic when its `action` starts with
    the topic identifier. From a truncated document the complete lines are still recovered.
    """
    prefix = f"{identifier} "
    decoder = json.JSONDecoder()
    try:
        doc = json.loads(overview)
        groups = (doc.get("budgetTopicActionMap") or {}).values()
        lines = [line for group in groups for line in group if isinstance(line, dict)]
        truncated = False
    except ValueError:
        truncated, lines = True, []
        for m in re.finditer(r'\{"action"', overview):
            try:
                obj, _ = decoder.raw_decode(overview, m.start())
            except ValueError:
                continue
            if isinstance(obj, dict):
                lines.append(obj)
    mine = [ln for ln in lines if f"{ln.get('action', '')} ".startswith(prefix)]
    return mine, truncated


def _amount(value: Any) -> int | None:
    try:
        amount = int(float(str(value)))
    except ValueError:
        return None
    return amount if amount > 0 else None


def _budget(lines: Sequence[dict[str, Any]], identifier: str) \
        -> tuple[int | None, list[BudgetLine], list[str]]:
    parts: list[BudgetLine] = []
    notes: list[str] = []
    for line in lines:
        action = " ".join(str(line.get("action", "")).split())
        kind = action[len(identifier):].lstrip(" -") or "budget"
        years = line.get("budgetYearMap") or {}
        for year in sorted(years):
            parts.append(BudgetLine(f"{year}: {kind}", _amount(years[year])))
        grants = _amount(line.get("expectedGrants"))
        low, high = _amount(line.get("minContribution")), _amount(line.get("maxContribution"))
        facts = []
        if grants:
            facts.append(f"{grants} grant(s) expected")
        if low and high:
            facts.append(f"EU contribution per grant EUR {low:,} to {high:,}" if low != high
                         else f"EU contribution per grant EUR {low:,}")
        if facts:
            notes.append(f"{kind}: {'; '.join(facts)}.")
    amounts = [p.amount for p in parts if p.amount is not None]
    return (sum(amounts) if amounts else None), parts, notes


def map_record(record: Mapping[str, Any], retrieved: datetime) -> tuple[ImportedCall, list[str]]:
    """One search-API result -> an ImportedCall and warnings; RecordError if it is unusable."""
    meta = record.get("metadata")
    if not isinstance(meta, Mapping):
        raise RecordError("no metadata")
    identifier = _first(meta, "identifier")
    if not identifier:
        raise RecordError("no identifier")
    title = " ".join(_first(meta, "title").split()) or str(record.get("summary") or "").strip()
    if not title:
        raise RecordError("no title")
    stamps = [parse_stamp(s) for s in _all(meta, "deadlineDate")]
    if not stamps:
        raise RecordError("no deadline date")
    warnings: list[str] = []
    submission, deadlines = _deadlines(_first(meta, "deadlineModel"), stamps)
    actions = [a for a in _json_list(_first(meta, "actions")) if isinstance(a, dict)]
    opening = _first(meta, "startDate") or next(
        (str(a["plannedOpeningDate"]) for a in actions if a.get("plannedOpeningDate")), "")
    opens = parse_stamp(opening)[0] if opening else None
    if opens and opens > min(d.day for d in deadlines):
        raise RecordError(f"opening {opens} is after the first deadline")
    call_id = _first(meta, "callIdentifier")
    code = _first(meta, "frameworkProgramme")
    programme = PROGRAMMES.get(code, f"Programme {code}" if code else "")
    action_type = " ".join(_first(meta, "typesOfAction").split())
    keywords = [k for k in _all(meta, "keywords") if k not in (identifier, call_id)]
    amount: int | None = None
    parts: list[BudgetLine] = []
    notes: list[str] = []
    overview = _first(meta, "budgetOverview")
    if overview:
        lines, truncated = budget_lines(overview, identifier)
        amount, parts, notes = _budget(lines, identifier)
        if amount is None and truncated:
            warnings.append("budget left out: the record's budgetOverview is cut off before "
                            "this topic's line")
    summary = [f"Topic {identifier}"
               + (f" of call {call_id}" + (f" ({_first(meta, 'callTitle')})"
                                           if _first(meta, "callTitle") else "")
                  if call_id else "") + "."]
    if action_type:
        summary.append(f"Type of action: {action_type}.")
    summary.append({"single": "Single-stage submission.",
                    "two-stage": "Two-stage submission.",
                    "multiple-cutoff": "Multiple cut-offs."}[submission])
    if warnings:
        summary.append("Budget not known: the portal record's budget overview was cut off.")
    if keywords:
        summary.append(f"Keywords: {', '.join(_unique(keywords))}.")
    tags = _unique([SOURCE, slug(call_id) if call_id else "", slug(programme),
                    *(slug(t) for t in _all(meta, "tags"))])
    call = ImportedCall(
        source=SOURCE, identifier=identifier, rule_id=slug(identifier), title=title,
        url=_first(meta, "url") or str(record.get("url") or "") or TOPIC_URL.format(identifier),
        retrieved=retrieved, source_title=f"EU Funding & Tenders Portal: topic {identifier}",
        identifiers=_unique([identifier, call_id]), funder="European Union",
        programmes=(programme,) if programme else (), tags=tuple(t for t in tags if t),
        keywords=_unique(keywords + _all(meta, "tags")), summary=" ".join(summary),
        # no publication date in the record: it was public by its opening and by our reading
        announced=min(opens, retrieved.date()) if opens else retrieved.date(),
        opens=opens, deadlines=tuple(deadlines), submission=submission,
        time_basis=(TimeBasis.STATED if any(d.at for d in deadlines) else TimeBasis.CONVENTION),
        budget=amount, budget_parts=tuple(parts),
        budget_note=" ".join(["From the portal's budget overview (EUR, by year)."
                              if amount else "", *notes]).strip(),
        call_id=call_id, status_hint=STATUS_HINTS.get(_first(meta, "status"), ""),
    )
    return call, warnings


def _rank(record: Mapping[str, Any]) -> tuple[bool, int, str]:
    meta = record.get("metadata") or {}
    return (_first(meta, "DATASOURCE") == PRIMARY_DATASOURCE, len(meta),
            str(record.get("reference") or ""))


def dedupe(records: Iterable[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], int]:
    """One record per topic: the portal's own data source first, then the fullest copy."""
    best: dict[str, Mapping[str, Any]] = {}
    order: list[str] = []
    dropped = 0
    for i, rec in enumerate(records):
        meta = rec.get("metadata") if isinstance(rec, Mapping) else None
        key = _first(meta, "identifier") if isinstance(meta, Mapping) else ""
        key = key or f"#{i}"
        if key in best:
            dropped += 1
            if _rank(rec) <= _rank(best[key]):
                continue
        else:
            order.append(key)
        best[key] = rec
    return [best[k] for k in order], dropped


def parse_records(records: Iterable[Mapping[str, Any]], retrieved: datetime) -> ParseResult:
    """Map every record; a broken one is reported with its identifier and skipped."""
    result = ParseResult()
    unique, result.duplicates = dedupe(records)
    for i, rec in enumerate(unique, start=1):
        meta = rec.get("metadata") if isinstance(rec, Mapping) else None
        name = (_first(meta, "identifier") if isinstance(meta, Mapping) else "") or f"record {i}"
        try:
            call, warnings = map_record(rec, retrieved)
        except RecordError as exc:
            result.skipped.append(Skipped(name, str(exc)))
            continue
        result.calls.append(call)
        result.warnings.extend(Skipped(name, w) for w in warnings)
    return result


def records_from_text(text: str) -> tuple[list[dict[str, Any]], list[Skipped]]:
    """The records of a saved search response; a file cut off mid-record keeps what precedes."""
    try:
        doc = json.loads(text)
    except ValueError:
        return _salvage(text)
    rows = doc.get("results") if isinstance(doc, dict) else doc
    if not isinstance(rows, list):
        return [], [Skipped("(file)", "no 'results' list in this JSON document")]
    return [r for r in rows if isinstance(r, dict)], []


def _salvage(text: str) -> tuple[list[dict[str, Any]], list[Skipped]]:
    start = text.find("[", text.find('"results"') + 1 if '"results"' in text else 0)
    decoder = json.JSONDecoder()
    out: list[dict[str, Any]] = []
    pos = start + 1
    while start >= 0:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return out, []
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            m = ID_IN_TEXT.search(text, pos)
            name = m.group(1) if m else f"record {len(out) + 1}"
            return out, [Skipped(name, f"record cut off or invalid JSON ({exc.msg} at "
                                       f"character {exc.pos})")]
        if isinstance(obj, dict):
            out.append(obj)
    return out, [Skipped("(file)", "not a search-API response: no 'results' list")]
