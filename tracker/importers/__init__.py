"""Importers: funding-portal data -> ordinary rule files, one folder per source.

- `ftportal`: EU Funding & Tenders Portal search-API records -> ImportedCall (pure mapping);
  `ftportal_fetch`: the search-API client (multipart JSON parts, 100 a page, retries).
- `grantsgov`: the Grants.gov XML extract, streamed (zipped or not) -> ImportedCall;
  `grantsgov_fetch`: the search2 + fetchOpportunity client.
- `document`, `tomlwrite`, `write`: ImportedCall -> rule TOML (deterministic), written only
  when bytes change, keeping moved deadlines as amendments and marking vanished calls withdrawn.
- `sources`: named import sources (`[imports.<name>]`) and `run_source` for the scheduler;
  `live`: fetchers for the real portals; `command`: `register(app)` adds `tracker import`.
"""

from __future__ import annotations

from tracker.importers.command import register
from tracker.importers.http import FetchError, Retry
from tracker.importers.live import fetch_source, live_fetcher
from tracker.importers.model import ImportedCall, ImportFilter, ParseResult
from tracker.importers.sources import (
    ImportReport,
    ImportSource,
    parse_every,
    parse_sources,
    run_source,
)
from tracker.importers.write import WriteReport, write_calls

__all__ = [
    "FetchError", "ImportFilter", "ImportReport", "ImportSource", "ImportedCall", "ParseResult",
    "Retry", "WriteReport", "fetch_source", "live_fetcher", "parse_every", "parse_sources",
    "register", "run_source", "write_calls",
]
