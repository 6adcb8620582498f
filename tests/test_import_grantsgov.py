"""Grants.gov importer: the documented extract schema streamed (zipped or not), synopses and
forecasts mapped, assumed close hours per agency, and --fetch against a search2 stand-in."""

from __future__ import annotations

import tomllib
import tracemalloc
import zipfile
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest

from tests.standins import GrantsGov, serve, write_extract
from tracker.importers import grantsgov
from tracker.importers.grantsgov_fetch import fetch_opportunities
from tracker.importers.http import FetchError, Retry
from tracker.importers.model import ImportedCall, TimeBasis
from tracker.importers.write import write_calls

DATA = Path(__file__).parent / "data" / "grantsgov"
WHEN = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
FAST = Retry(attempts=2, backoff=0.0, timeout=5.0, delay=0.0)


def calls(path: Path = DATA / "extract_small.xml",
          times: grantsgov.CloseTimes = grantsgov.CloseTimes()) -> dict[str, ImportedCall]:
    """The extract's calls by opportunity number."""
    return {c.identifier: c for c in grantsgov.parse_extract(path, WHEN, times).calls}


def test_synopsis_maps_dates_funder_identifiers_and_budget() -> None:
    call = calls()["PAR-25-274"]
    assert call.title.startswith("Exploratory/Developmental Research Grant Program")
    assert call.funder == "National Institutes of Health"
    assert call.identifiers == ("PAR-25-274", "93.213", "93.279")
    assert (call.opens, call.announced) == (date(2024, 11, 21), date(2024, 11, 21))
    assert [(d.day, d.tentative) for d in call.deadlines] == [(date(2026, 11, 17), False)]
    assert "5:00 PM local time of the applicant organization" in call.summary
    assert (call.budget, call.currency) == (5_000_000, "USD")
    assert [(p.name, p.amount) for p in call.budget_parts] == [("Award ceiling", 275_000)]
    assert call.url == "https://www.grants.gov/search-results-detail/357305"


def test_close_hour_is_assumed_and_configurable_per_agency() -> None:
    default = calls()["PAR-25-274"]
    assert (default.deadline_time, default.timezone) == (time(17, 0), "America/New_York")
    assert default.time_basis is TimeBasis.ASSUMED
    times = grantsgov.parse_close_times({"default": "23:59 America/New_York",
                                         "HHS-NIH": "17:00 America/Los_Angeles"})
    got = calls(times=times)
    assert (got["PAR-25-274"].deadline_time, got["PAR-25-274"].timezone) == \
        (time(17, 0), "America/Los_Angeles")
    assert got["DE-FOA-0003500"].deadline_time == time(23, 59)
    with pytest.raises(ValueError, match="close time for 'HHS': '5pm Eastern' is not"):
        grantsgov.parse_close_times({"HHS": "5pm Eastern"})


def test_forecast_dates_are_tentative_and_a_fiscal_year_is_a_fuzzy_milestone() -> None:
    got = calls()
    forecast = got["DE-FOA-0003500"]
    assert [(d.day, d.tentative) for d in forecast.deadlines] == [(date(2027, 4, 30), True)]
    assert forecast.opens == date(2027, 1, 15)
    assert [(e.when, e.tentative) for e in forecast.expected] == [(date(2027, 9, 30), True)]
    year_only = got["NOAA-NMFS-2028-001"]
    assert year_only.deadlines == ()
    assert [(e.title, e.when) for e in year_only.expected] == [
        ("Awards expected in fiscal year 2028 (Oct-Sep)", "2028")]


def test_bad_record_is_reported_and_the_synopsis_wins_over_its_old_forecast() -> None:
    result = grantsgov.parse_extract(DATA / "extract_small.xml", WHEN)
    assert [(s.identifier, s.reason) for s in result.skipped] == [
        ("USDA-BAD-01", "'13452026' is not a MMDDYYYY date")]
    assert result.duplicates == 1
    assert sorted(c.identifier for c in result.calls) == [
        "DE-FOA-0003500", "NOAA-NMFS-2028-001", "PAR-25-274"]
    assert calls()["PAR-25-274"].status_hint == "synopsis"


def test_zipped_extract_reads_the_same(tmp_path: Path) -> None:
    archive = tmp_path / "GrantsDBExtract20261125v2.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(DATA / "extract_small.xml", "GrantsDBExtract20261125v2.xml")
    assert calls(archive) == calls()


def test_written_rules_say_the_hour_is_assumed(tmp_path: Path) -> None:
    write_calls(list(calls().values()), tmp_path, source="grantsgov", scope="files",
                today=date(2026, 11, 25))
    rule = tomllib.loads((tmp_path / "grantsgov-par-25-274.toml").read_text())
    assert rule["deadline_time_basis"] == "assumed"
    assert rule["identifiers"] == ["PAR-25-274", "93.213", "93.279"]
    year_only = tomllib.loads((tmp_path / "grantsgov-noaa-nmfs-2028-001.toml").read_text())
    assert year_only["type"] == "milestones" and "cutoffs" not in year_only


def _peak(path: Path) -> int:
    tracemalloc.start()
    try:
        result = grantsgov.parse_extract(path, WHEN)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(result.calls) == 2000
    return peak


def test_streaming_memory_does_not_grow_with_the_xml_text(tmp_path: Path) -> None:
    short, long = tmp_path / "short.xml", tmp_path / "long.xml"
    write_extract(short, 2000, description=100)
    write_extract(long, 2000, description=8000)  # 16 MB more XML for the same calls
    assert long.stat().st_size - short.stat().st_size > 15_000_000
    assert _peak(long) - _peak(short) < 1_000_000  # the descriptions are never held


def opportunities() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """search2 hits with their fetchOpportunity data, shaped as the real API answers."""
    out: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for i in range(130):
        hit = {"id": str(357305 + i), "number": f"PAR-25-{274 + i}", "title": f"Program {i}",
               "agencyCode": "HHS-NIH11", "agency": "National Institutes of Health",
               "openDate": "11/21/2024", "closeDate": "11/17/2027", "oppStatus": "posted",
               "docType": "synopsis", "cfdaList": ["93.213"]}
        detail = {"id": 357305 + i, "opportunityNumber": hit["number"],
                  "opportunityTitle": hit["title"],
                  "synopsis": {"synopsisDesc": "<p>text</p>", "awardCeiling": "275000",
                               "estimatedFunding": "5000000", "numberOfAwards": "20",
                               "responseDateDesc": "Due 5 pm local time."}}
        out.append((hit, detail))
    out.append(({**out[0][0], "id": "999", "oppStatus": "closed"}, {}))
    return out


def test_fetch_pages_search2_and_reads_each_opportunity() -> None:
    portal = GrantsGov(opportunities())
    with serve(portal) as url:
        records = fetch_opportunities(url=f"{url}/v1/api", retry=FAST)
    result = grantsgov.collect(records, WHEN)
    assert len(result.calls) == 130
    first = next(c for c in result.calls if c.identifier == "PAR-25-274")
    assert first.deadlines[0].day == date(2027, 11, 17)
    assert first.budget == 5_000_000 and "Due 5 pm local time." in first.summary
    assert portal.seen.count("/v1/api/search2") == 2


def test_fetch_against_a_down_api_raises() -> None:
    with serve(GrantsGov(opportunities(), down=True)) as url, \
            pytest.raises(FetchError, match="HTTP 503"):
        fetch_opportunities(url=f"{url}/v1/api", retry=FAST)
