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

from importlib import import_module
from typing import Any

_HOMES = {
    "register": "command", "FetchError": "http", "Retry": "http", "fetch_source": "live",
    "live_fetcher": "live", "ImportedCall": "model", "ImportFilter": "model",
    "ParseResult": "model", "ImportReport": "sources", "ImportSource": "sources",
    "parse_every": "sources", "parse_sources": "sources", "run_source": "sources",
    "WriteReport": "write", "write_calls": "write",
}


def __getattr__(name: str) -> Any:
    """Names are imported from their module on first use: `tracker --help` stays light."""
    if name not in _HOMES:
        raise AttributeError(f"module 'tracker.importers' has no attribute {name!r}")
    return getattr(import_module(f"tracker.importers.{_HOMES[name]}"), name)


__all__ = [
    "FetchError", "ImportFilter", "ImportReport", "ImportSource", "ImportedCall", "ParseResult",
    "Retry", "WriteReport", "fetch_source", "live_fetcher", "parse_every", "parse_sources",
    "register", "run_source", "write_calls",
]
