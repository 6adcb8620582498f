"""The tracker as a Python library: load and check rules, expand them, keep a store, build feeds,
list what is coming. Everything else in the package is private and may change.

    from datetime import UTC, datetime
    from tracker import api

    now = datetime.now(UTC)
    rules = api.load_rules(["seeds"])                   # RuleError lists every problem
    for item in api.upcoming(rules, now, within_days=90):
        print(item.when_label(), item.title, item.evidence.value)

    store = api.open_store("sqlite:///grants.db")       # created or upgraded on first use
    api.sync(store, ["seeds"], now)                     # history of every change is kept
    api.build_feeds(store, "calendars", "https://grants.example.org", now)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from tracker import store as db
from tracker import usecases
from tracker.calendar import feeds
from tracker.calendar.files import WriteReport
from tracker.errors import Problem, RuleError, TrackerError
from tracker.models import Change, Evidence, Filter, Kind, Occurrence, Rule, Status
from tracker.rules import check_files
from tracker.rules import load_rules as _load
from tracker.rules.expand import expand, expand_all
from tracker.store import Store

__all__ = [
    "Change", "Evidence", "Filter", "Kind", "Occurrence", "Problem", "Rule", "RuleError",
    "Status", "Store", "TrackerError", "build_feeds", "changes", "check", "expand",
    "expand_all", "load_rules", "open_store", "sync", "upcoming",
]


def _paths(paths: Sequence[str | Path]) -> list[Path]:
    return [Path(p) for p in paths]


def load_rules(paths: Sequence[str | Path]) -> list[Rule]:
    """Every rule under these files or folders; RuleError (with `.problems`) if any is bad."""
    return _load(_paths(paths))


def check(paths: Sequence[str | Path]) -> list[Problem]:
    """Every problem (and warning) in these rule files; empty when all are good."""
    return check_files(_paths(paths))[1]


def upcoming(rules: Sequence[Rule], now: datetime, within_days: int | None = None,
             only: Filter | None = None, known: date | None = None) -> list[Occurrence]:
    """What is coming after `now` (an aware datetime), nearest first, optionally within a
    number of days and through a filter; `known`: as announced by that day."""
    until = (now + timedelta(days=within_days)).date() if within_days is not None else None
    f = only or Filter()
    query = usecases.Query(now=now, until=until, calls=f.calls, kinds=f.kinds, tags=f.tags,
                           known=known)
    return usecases.deadlines(list(rules), query)


def open_store(url: str) -> Store:
    """A store at a SQLAlchemy URL (sqlite:///file.db or postgresql+psycopg://...)."""
    return db.open_store(url)


def sync(store: Store, paths: Sequence[str | Path], now: datetime,
         prune: bool = False) -> db.SyncReport:
    """Bring the store up to date with the rule files in one transaction; calls whose file is
    gone are kept (and flagged) unless `prune`."""
    return usecases.sync(store, _paths(paths), now, "prune" if prune else "keep")


def changes(store: Store, since: date | None = None) -> list[Change]:
    """What changed, one line per change, in the order it became known."""
    return usecases.changes(store, since)


def build_feeds(store: Store, folder: str | Path, base_url: str, now: datetime) -> WriteReport:
    """Write every iCalendar feed (with its .gz copy) and index.json into `folder`: only the
    feeds whose content changed; "all" holds the events of the last 30 days before `now` and
    every one to come."""
    return feeds.build(store, Path(folder), base_url, now)
