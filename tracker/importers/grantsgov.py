"""Grants.gov XML extract -> ImportedCall, streamed with iterparse in bounded memory.

The extract gives no hour or zone for a close date: the hour is a configured default per
agency (`CloseTimes`, default 17:00 America/New_York, the earlier of the usual 5 pm and
11:59 pm Eastern readings, so a reminder is never late) and is marked "assumed".
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import Element, iterparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tracker.importers.ftportal import RecordError, slug
from tracker.importers.model import (
    BudgetLine,
    Deadline,
    Expected,
    ImportedCall,
    ParseResult,
    Skipped,
    TimeBasis,
)

SOURCE = "grantsgov"
NS = "{http://apply.grants.gov/system/OpportunityDetail-V1.0}"
KINDS = {"OpportunitySynopsisDetail_1_0": "synopsis", "OpportunityForecastDetail_1_0": "forecast"}
DETAIL_URL = "https://www.grants.gov/search-results-detail/{}"
REPEATED = {"CFDANumbers"}
Record = dict[str, str | list[str]]


@dataclass(frozen=True)
class CloseTimes:
    """The assumed hour and zone of close dates: a default and per-agency-code prefixes."""

    default: tuple[time, str] = (time(17, 0), "America/New_York")
    agencies: Mapping[str, tuple[time, str]] = field(default_factory=dict)

    def of(self, agency_code: str) -> tuple[time, str]:
        """The longest configured prefix of the agency code wins ('HHS-NIH' before 'HHS')."""
        best = max((p for p in self.agencies if agency_code.upper().startswith(p.upper())),
                   key=len, default=None)
        return self.agencies[best] if best is not None else self.default


def parse_close_times(entries: Mapping[str, str]) -> CloseTimes:
    """{"default": "17:00 America/New_York", "HHS-NIH": "17:00 America/New_York"} -> CloseTimes.

    ValueError names the entry and the expected form.
    """
    parsed: dict[str, tuple[time, str]] = {}
    for agency, text in entries.items():
        hour, _, zone = str(text).strip().partition(" ")
        try:
            parsed[agency] = (time.fromisoformat(hour), zone.strip() or "America/New_York")
            ZoneInfo(parsed[agency][1])
        except (ValueError, ZoneInfoNotFoundError):
            raise ValueError(f"close time for '{agency}': '{text}' is not \"HH:MM Zone\", "
                             "e.g. \"17:00 America/New_York\"") from None
    default = parsed.pop("default", CloseTimes().default)
    return CloseTimes(default, parsed)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@contextmanager
def _open(path: Path) -> Iterator[IO[bytes]]:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            name = next((n for n in zf.namelist() if n.lower().endswith(".xml")), None)
            if name is None:
                raise RecordError(f"{path}: the zip file holds no .xml extract")
            with zf.open(name) as fh:
                yield fh
    else:
        with path.open("rb") as fh:
            yield fh


def iter_extract(path: Path) -> Iterator[tuple[str, Record]]:
    """Each opportunity of the extract as (kind, fields); the tree is cleared as it goes."""
    with _open(path) as fh:
        root: Element | None = None
        for event, elem in iterparse(fh, events=("start", "end")):
            if event == "start":
                if root is None:
                    root = elem
                continue
            kind = KINDS.get(_local(elem.tag))
            if kind is None:
                continue
            fields: Record = {}
            for child in elem:
                name, text = _local(child.tag), (child.text or "").strip()
                if name in REPEATED:
                    cur = fields.setdefault(name, [])
                    assert isinstance(cur, list)
                    cur.append(text)
                else:
                    fields[name] = text
            elem.clear()
            if root is not None:
                root.clear()  # drop the finished records the root still holds
            yield kind, fields


def us_date(text: str) -> date | None:
    """MMDDYYYY (or MM/DD/YYYY) -> date; None for empty; RecordError when malformed."""
    digits = text.replace("/", "").replace("-", "").strip()
    if not digits:
        return None
    try:
        return date(int(digits[4:8]), int(digits[0:2]), int(digits[2:4]))
    except ValueError:
        raise RecordError(f"'{text}' is not a MMDDYYYY date") from None


def _money(text: str) -> int | None:
    digits = text.replace(",", "").replace("$", "").strip()
    if not digits or digits.lower() == "none":
        return None
    try:
        value = int(float(digits))
    except ValueError:
        return None
    return value if value > 0 else None


def _get(fields: Record, key: str) -> str:
    value = fields.get(key, "")
    return value if isinstance(value, str) else " ".join(value)


def map_opportunity(kind: str, fields: Record, retrieved: datetime,
                    close_times: CloseTimes = CloseTimes()) -> ImportedCall:
    """One synopsis or forecast -> an ImportedCall; RecordError says why it cannot be used."""
    number, opp_id = _get(fields, "OpportunityNumber"), _get(fields, "OpportunityID")
    title = " ".join(_get(fields, "OpportunityTitle").split())
    if not number or not title:
        raise RecordError("no OpportunityNumber or OpportunityTitle")
    agency_code = _get(fields, "AgencyCode")
    at, zone = close_times.of(agency_code)
    cfda = [c for c in fields.get("CFDANumbers", []) if c] if isinstance(
        fields.get("CFDANumbers"), list) else [_get(fields, "CFDANumbers")]
    summary = [f"Grants.gov {kind} {number}."]
    deadlines: list[Deadline] = []
    expected: list[Expected] = []
    if kind == "synopsis":
        opens, closes = us_date(_get(fields, "PostDate")), us_date(_get(fields, "CloseDate"))
        if closes is None:
            raise RecordError("no CloseDate")
        deadlines.append(Deadline("deadline", closes))
        announced = opens
    else:
        opens = us_date(_get(fields, "EstimatedSynopsisPostDate"))
        closes = us_date(_get(fields, "EstimatedSynopsisCloseDate"))
        announced = us_date(_get(fields, "PostDate"))
        year = _get(fields, "FiscalYear")
        summary.append(f"Forecast{f' for fiscal year {year}' if year else ''}: dates are "
                       "estimates.")
        if closes is not None:
            deadlines.append(Deadline("deadline", closes, label="Estimated close", tentative=True))
        award = us_date(_get(fields, "EstimatedAwardDate"))
        if award is not None or year:
            # a US fiscal year runs Oct-Sep: the fuzzy calendar year is the closest fit
            expected.append(Expected("award", "Expected award date" if award else
                                     f"Awards expected in fiscal year {year} (Oct-Sep)",
                                     award or year))
        if not deadlines and not expected:
            raise RecordError("forecast without any estimated date or fiscal year")
    if opens and deadlines and opens > deadlines[0].day:
        opens = None  # a posting date after the close date: keep the deadline, drop the opening
    explanation = " ".join(_get(fields, "CloseDateExplanation").split())
    if explanation:
        summary.append(f"Close date note: {explanation}")
    total, ceiling, floor = (_money(_get(fields, k)) for k in
                             ("EstimatedTotalProgramFunding", "AwardCeiling", "AwardFloor"))
    awards = _money(_get(fields, "ExpectedNumberOfAwards"))
    parts = [BudgetLine("Award ceiling", ceiling)] if ceiling else []
    parts += [BudgetLine("Award floor", floor)] if floor else []
    return ImportedCall(
        source=SOURCE, identifier=number, rule_id=slug(f"grantsgov-{number}"), title=title,
        url=DETAIL_URL.format(opp_id) if opp_id else "", retrieved=retrieved,
        source_title=f"Grants.gov {kind} {number}", identifiers=tuple(dict.fromkeys(
            [number, *cfda])), funder=_get(fields, "AgencyName") or agency_code,
        tags=tuple(t for t in (SOURCE, slug(agency_code), "forecast" if kind == "forecast"
                               else "") if t),
        keywords=tuple(cfda), summary=" ".join(summary), announced=announced, opens=opens,
        deadlines=tuple(deadlines), submission="single", timezone=zone, deadline_time=at,
        time_basis=TimeBasis.ASSUMED, currency="USD", budget=total or ceiling,
        budget_parts=tuple(parts), budget_note=" ".join(filter(None, [
            "Estimated total program funding." if total else "Award ceiling (no total given).",
            f"{awards} award(s) expected." if awards else ""])) if (total or ceiling) else "",
        expected=tuple(expected), call_id=number, status_hint=kind,
    )


def _rank(kind: str, fields: Record) -> tuple[bool, str]:
    updated = us_date(_get(fields, "LastUpdatedDate")) if _get(fields, "LastUpdatedDate") else None
    return kind == "synopsis", (updated or date.min).isoformat()


def parse_extract(path: Path, retrieved: datetime, close_times: CloseTimes = CloseTimes(),
                  wanted: Callable[[ImportedCall], bool] | None = None) -> ParseResult:
    """Stream the whole extract: one call per opportunity (the synopsis over its forecast)."""
    return collect(iter_extract(path), retrieved, close_times, wanted)


def collect(records: Iterable[tuple[str, Record]], retrieved: datetime,
            close_times: CloseTimes = CloseTimes(),
            wanted: Callable[[ImportedCall], bool] | None = None) -> ParseResult:
    """Map every record, reporting broken ones; one call per opportunity id.

    Calls `wanted` rejects are not kept (only their rule ids): a filtered import of a large
    extract holds just the calls it writes.
    """
    result = ParseResult()
    best: dict[str, tuple[tuple[bool, str], ImportedCall]] = {}
    for i, (kind, fields) in enumerate(records, start=1):
        name = _get(fields, "OpportunityNumber") or _get(fields, "OpportunityID") or f"record {i}"
        try:
            call = map_opportunity(kind, fields, retrieved, close_times)
            rank = _rank(kind, fields)
        except RecordError as exc:
            result.skipped.append(Skipped(name, str(exc)))
            continue
        if wanted is not None and not wanted(call):
            result.passed_over.add(call.rule_id)
            continue
        key = _get(fields, "OpportunityID") or call.rule_id
        if key in best:
            result.duplicates += 1
            if rank <= best[key][0]:
                continue
        best[key] = (rank, call)
    result.calls = [call for _, call in best.values()]
    return result
