"""EU Funding & Tenders Portal search API: page through every topic matching a filter."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from tracker.importers.ftportal import PROGRAMMES
from tracker.importers.http import FetchError, Retry, post_json

SEARCH_URL = "https://api.tech.ec.europa.eu/search-api/prod/rest/search"
PAGE_SIZE = 100
STATUS_CODES = {"forthcoming": "31094501", "open": "31094502", "closed": "31094503"}
TOPIC_TYPES = ["1", "2", "8"]  # call topics and cascade funding
Progress = Callable[[int, int], None]


def programme_codes(names: Sequence[str]) -> list[str]:
    """Programme names (or codes) -> the portal's numeric codes; FetchError names the unknown."""
    by_name = {v.lower(): k for k, v in PROGRAMMES.items()}
    out = []
    for name in names:
        low = name.strip().lower()
        near = [k for n, k in by_name.items() if low and low in n]
        code = name if name in PROGRAMMES else by_name.get(low) or (
            near[0] if len(near) == 1 else None)  # "Digital Europe" is enough
        if code is None:
            known = ", ".join(sorted(PROGRAMMES.values()))
            raise FetchError(f"unknown programme '{name}'; known: {known}")
        out.append(code)
    return out


def build_query(programmes: Sequence[str] = (), statuses: Sequence[str] = (),
                call_ids: Sequence[str] = ()) -> dict[str, Any]:
    """The search query (bool/must/terms: the only form the API answers)."""
    must: list[dict[str, Any]] = [{"terms": {"type": TOPIC_TYPES}}]
    if statuses:
        must.append({"terms": {"status": [STATUS_CODES[s] for s in statuses]}})
    if programmes:
        must.append({"terms": {"frameworkProgramme": programme_codes(programmes)}})
    if call_ids:
        must.append({"terms": {"callIdentifier": list(call_ids)}})
    return {"bool": {"must": must}}


def multipart(parts: dict[str, Any]) -> tuple[bytes, str]:
    """Each part as a JSON file part (as plain form fields the portal answers 500)."""
    boundary = f"tracker-{uuid.uuid4().hex}"
    chunks = []
    for name, value in parts.items():
        chunks.append(
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
            f"filename=\"{name}.json\"\r\nContent-Type: application/json\r\n\r\n"
            f"{json.dumps(value)}\r\n")
    chunks.append(f"--{boundary}--\r\n")
    return "".join(chunks).encode("utf-8"), f"multipart/form-data; boundary={boundary}"


def fetch_topics(query: dict[str, Any], keyword: str = "", *, url: str = SEARCH_URL,
                 retry: Retry = Retry(), progress: Progress | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> list[dict[str, Any]]:
    """Every result of the query, page by page (100 a page), politely spaced."""
    body, content_type = multipart({"query": query, "languages": ["en"],
                                    "sort": {"field": "sortStatus", "order": "ASC"}})
    results: list[dict[str, Any]] = []
    page, total = 1, None
    while total is None or len(results) < total:
        if page > 1:
            sleep(retry.delay)
        params = urlencode({"apiKey": "SEDIA", "text": keyword or "***",
                            "pageSize": PAGE_SIZE, "pageNumber": page})
        answer = post_json(f"{url}?{params}", body, content_type, retry, sleep)
        if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
            raise FetchError(f"{url} answered without a 'results' list (page {page})")
        total = int(answer.get("totalResults") or 0)
        rows = [r for r in answer["results"] if isinstance(r, dict)]
        results.extend(rows)
        if progress is not None:
            progress(len(results), total)
        if not rows:
            break  # the portal's total can be larger than what it pages out
        page += 1
    return results
