"""Fetchers that read the live portals for a configured source (used by `tracker run`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tracker.importers import ftportal, grantsgov
from tracker.importers.ftportal_fetch import SEARCH_URL, build_query, fetch_topics
from tracker.importers.grantsgov_fetch import API_URL, fetch_opportunities
from tracker.importers.http import Retry
from tracker.importers.model import ParseResult
from tracker.importers.sources import Fetcher, ImportSource

Progress = Callable[[int, int], None]
GG_STATUSES = ("forecasted", "posted")


def fetch_source(source: ImportSource, now: datetime, *, ftportal_url: str = SEARCH_URL,
                 grantsgov_url: str = API_URL, retry: Retry = Retry(),
                 progress: Progress | None = None) -> ParseResult:
    """Read one source's filter from its portal and map the records (retrieved at `now`)."""
    if source.kind == "ftportal":
        query = build_query(source.programme, source.status, source.call_id)
        keyword = " ".join(source.keyword)  # one text search; every keyword is checked after
        rows = fetch_topics(query, keyword if len(source.keyword) == 1 else "",
                            url=ftportal_url, retry=retry, progress=progress)
        return ftportal.parse_records(rows, now)
    statuses = tuple(s for s in source.status if s in GG_STATUSES) or GG_STATUSES
    records = fetch_opportunities(keyword=" ".join(source.keyword), agencies=source.agency,
                                  statuses=statuses, opp_numbers=source.call_id,
                                  url=grantsgov_url, retry=retry, progress=progress)
    return grantsgov.collect(records, now, source.close_times)


def live_fetcher(*, ftportal_url: str = SEARCH_URL, grantsgov_url: str = API_URL,
                 retry: Retry = Retry(), progress: Progress | None = None) -> Fetcher:
    """A fetcher for `run_source`, bound to portal addresses (tests pass a stand-in's)."""

    def fetch(source: ImportSource, now: datetime) -> ParseResult:
        return fetch_source(source, now, ftportal_url=ftportal_url, grantsgov_url=grantsgov_url,
                            retry=retry, progress=progress)

    return fetch
