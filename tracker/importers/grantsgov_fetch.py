"""Grants.gov REST API: search2 for the matching opportunities, fetchOpportunity for details.

Each hit and its detail become the same fields as an extract record, so one mapping
(`grantsgov.map_opportunity`) serves both.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from tracker.importers.grantsgov import Record
from tracker.importers.http import FetchError, Retry, post_json

API_URL = "https://api.grants.gov/v1/api"
ROWS = 100
Progress = Callable[[int, int], None]

# fetchOpportunity synopsis/forecast keys -> extract field names
DETAIL_KEYS = {
    "awardCeiling": "AwardCeiling", "awardFloor": "AwardFloor",
    "estimatedFunding": "EstimatedTotalProgramFunding", "numberOfAwards": "ExpectedNumberOfAwards",
    "responseDateDesc": "CloseDateExplanation", "agencyName": "AgencyName",
    "estSynopsisPostingDate": "EstimatedSynopsisPostDate",
    "estApplicationResponseDate": "EstimatedSynopsisCloseDate",
    "estAwardDate": "EstimatedAwardDate", "fiscalYear": "FiscalYear",
}


def _post(url: str, body: dict[str, Any], retry: Retry, sleep: Callable[[float], None]) \
        -> dict[str, Any]:
    answer = post_json(url, json.dumps(body).encode("utf-8"), "application/json", retry, sleep)
    if not isinstance(answer, dict) or answer.get("errorcode", 0) not in (0, "0"):
        msg = answer.get("msg") if isinstance(answer, dict) else answer
        raise FetchError(f"{url} answered with an error: {msg}")
    data = answer.get("data")
    return data if isinstance(data, dict) else {}


def _mmddyyyy(text: Any) -> str:
    parts = str(text or "").split("/")
    return "".join(p.zfill(2) for p in parts[:2]) + parts[2][:4] if len(parts) == 3 else ""


def record_of(hit: dict[str, Any], detail: dict[str, Any]) -> tuple[str, Record]:
    """A search hit and its fetched detail -> (kind, extract-like fields)."""
    kind = "forecast" if hit.get("docType") == "forecast" else "synopsis"
    fields: Record = {
        "OpportunityID": str(hit.get("id", "")), "OpportunityNumber": str(hit.get("number", "")),
        "OpportunityTitle": str(hit.get("title", "")), "AgencyCode": str(hit.get("agencyCode", "")),
        "AgencyName": str(hit.get("agency", "")), "PostDate": _mmddyyyy(hit.get("openDate")),
        "CloseDate": _mmddyyyy(hit.get("closeDate")),
        "CFDANumbers": [str(c) for c in hit.get("cfdaList") or []],
    }
    part = detail.get(kind) or detail.get("synopsis") or {}
    for key, name in DETAIL_KEYS.items():
        value = part.get(key) if isinstance(part, dict) else None
        if value not in (None, ""):
            fields[name] = _mmddyyyy(value) if "Date" in name and "/" in str(value) \
                else str(value)
    return kind, fields


def fetch_opportunities(*, keyword: str = "", agencies: Sequence[str] = (),
                        statuses: Sequence[str] = ("forecasted", "posted"),
                        opp_numbers: Sequence[str] = (), url: str = API_URL,
                        retry: Retry = Retry(), progress: Progress | None = None,
                        sleep: Callable[[float], None] = time.sleep) \
        -> list[tuple[str, Record]]:
    """Every matching opportunity with its details, paged with startRecordNum."""
    body: dict[str, Any] = {"rows": ROWS, "keyword": keyword, "oppNum": ",".join(opp_numbers),
                            "agencies": "|".join(agencies), "oppStatuses": "|".join(statuses)}
    out: list[tuple[str, Record]] = []
    start, total = 0, None
    while total is None or start < total:
        if start:
            sleep(retry.delay)
        data = _post(f"{url}/search2", {**body, "startRecordNum": start}, retry, sleep)
        total = int(data.get("hitCount") or 0)
        hits = [h for h in data.get("oppHits") or [] if isinstance(h, dict)]
        for hit in hits:
            sleep(retry.delay)
            detail = _post(f"{url}/fetchOpportunity", {"opportunityId": int(hit["id"])}, retry,
                           sleep)
            out.append(record_of(hit, detail))
            if progress is not None:
                progress(len(out), total)
        if not hits:
            break
        start += len(hits)
    return out
