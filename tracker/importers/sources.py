"""Named import sources from the config (`[imports.<name>]`), and running one of them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from tracker.errors import ConfigError, TrackerError
from tracker.importers.ftportal import slug
from tracker.importers.grantsgov import CloseTimes, parse_close_times
from tracker.importers.model import ImportFilter, ParseResult
from tracker.importers.write import WriteReport, scope_name, write_calls

KINDS = ("ftportal", "grantsgov")
STATUSES = {"ftportal": ("forthcoming", "open", "closed"),
            "grantsgov": ("forecasted", "posted", "closed", "archived")}
KEYS = {"source", "programme", "keyword", "status", "call_id", "agency", "every", "folder",
        "close_times"}
EVERY = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class ImportSource:
    """One configured import: which portal, what filter, how often, into which folder."""

    name: str
    kind: str
    programme: tuple[str, ...] = ()
    keyword: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    call_id: tuple[str, ...] = ()
    agency: tuple[str, ...] = ()
    every: timedelta = timedelta(days=1)
    folder: Path | None = None  # default: imported/<kind>
    close_times: CloseTimes = field(default_factory=CloseTimes)  # Grants.gov close hours

    @property
    def filter(self) -> ImportFilter:
        """The source's filter."""
        return ImportFilter(self.programme, self.keyword, self.status, self.call_id, self.agency)

    @property
    def scope(self) -> str:
        """The scope of its imports, for withdrawal: the kind, 'fetch' and the filter."""
        return scope_name("fetch", self.filter.pairs())

    def folder_in(self, base: Path) -> Path:
        """Where this source's rules go, relative paths taken from `base`."""
        folder = self.folder or Path("imported") / self.kind
        return folder if folder.is_absolute() else base / folder

    def next_run(self, last: datetime | None) -> datetime | None:
        """When the source is due after a run at `last` (None: due now)."""
        return None if last is None else last + self.every


def parse_every(text: str) -> timedelta:
    """'1d', '12h', '30m', '1w' -> a timedelta; ValueError says the form."""
    m = EVERY.match(text)
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"'{text}' is not an interval; write e.g. \"1d\", \"12h\" or \"30m\"")
    return timedelta(**{UNITS[m.group(2)]: int(m.group(1))})


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value if v.strip())
    raise ValueError('expected a string or a list of strings, e.g. ["open", "forthcoming"]')


def _one(name: str, table: Mapping[str, Any], problems: list[str]) -> ImportSource | None:
    where = f"[imports.{name}]"
    before = len(problems)
    for key in sorted(set(table) - KEYS):
        problems.append(f"{where}: unknown key '{key}' (allowed: {', '.join(sorted(KEYS))})")
    kind = table.get("source")
    if kind not in KINDS:
        problems.append(f"{where} source: expected \"ftportal\" or \"grantsgov\", got {kind!r}")
        return None
    values: dict[str, Any] = {}
    for key in ("programme", "keyword", "status", "call_id", "agency"):
        try:
            values[key] = _strings(table.get(key, []))
        except ValueError as exc:
            problems.append(f"{where} {key}: {exc}")
    for status in values.get("status", ()):
        if status not in STATUSES[kind]:
            problems.append(f"{where} status: '{status}' is not a {kind} status; use "
                            f"{', '.join(STATUSES[kind])}")
    try:
        every = parse_every(str(table.get("every", "1d")))
    except ValueError as exc:
        problems.append(f"{where} every: {exc}")
        every = timedelta(days=1)
    folder = table.get("folder")
    if folder is not None and not isinstance(folder, str):
        problems.append(f'{where} folder: expected a path in quotes, e.g. "imported/{name}"')
    close_times = CloseTimes()
    raw = table.get("close_times", {})
    if not isinstance(raw, Mapping):
        problems.append(f'{where} close_times: expected a table, e.g. close_times = '
                        '{ default = "17:00 America/New_York", HHS-NIH = "23:59 US/Eastern" }')
    else:
        try:
            close_times = parse_close_times(raw)
        except ValueError as exc:
            problems.append(f"{where} close_times: {exc}")
    if len(problems) > before:
        return None
    return ImportSource(name, kind, every=every, folder=Path(folder) if folder else None,
                        close_times=close_times, **values)


def parse_sources(imports: Mapping[str, Any]) -> list[ImportSource]:
    """Every `[imports.<name>]` table; ConfigError lists each problem with its key and fix."""
    problems: list[str] = []
    out = []
    for name in sorted(imports):
        table = imports[name]
        if not isinstance(table, Mapping):
            problems.append(f"imports.{name}: expected a table [imports.{name}] with "
                            'source = "ftportal" or "grantsgov"')
            continue
        if not re.match(r"^[a-z0-9][a-z0-9_-]*$", name):
            problems.append(f"[imports.{name}]: the name must be lower-case letters, digits, "
                            f"'-' or '_', e.g. {slug(name) or 'ncp-digital'}")
            continue
        source = _one(name, table, problems)
        if source is not None:
            out.append(source)
    if problems:
        raise ConfigError("Import sources in the config are wrong:\n"
                          + "\n".join(f"  {p}" for p in problems))
    return out


@dataclass
class ImportReport:
    """One run of one source: whether it worked, what it wrote, what it skipped."""

    source: str
    ok: bool
    finished: datetime
    message: str
    written: WriteReport | None = None
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def store(result: ParseResult, folder: Path, *, kind: str, scope: str, filt: ImportFilter,
          today: date) -> WriteReport:
    """Filter the parsed calls and write them; broken or filtered-out records are not withdrawn."""
    chosen = [c for c in result.calls if filt.matches(c, today)]
    names = {c.rule_id for c in chosen}
    keep = [slug(s.identifier) for s in result.skipped]
    keep += [c.rule_id for c in result.calls if c.rule_id not in names]
    keep += sorted(result.passed_over - names)
    return write_calls(chosen, folder, source=kind, scope=scope, today=today, keep=keep)


def summary(kind: str, result: ParseResult, written: WriteReport) -> str:
    """One line: how many calls, new, updated, unchanged, withdrawn, skipped."""
    w = written
    dupes = f"; {result.duplicates} stale duplicate(s) dropped" if result.duplicates else ""
    return (f"{kind}: {len(w.created)} new, {len(w.updated)} updated, {w.unchanged} unchanged, "
            f"{len(w.withdrawn)} withdrawn, {len(result.skipped)} skipped{dupes} "
            f"(folder {w.folder})")


Fetcher = Callable[[ImportSource, datetime], ParseResult]


def run_source(source: ImportSource, folder: Path, now: datetime, fetcher: Fetcher) \
        -> ImportReport:
    """Fetch one source and write its folder; on failure keep the last good data, withdraw none."""
    try:
        result = fetcher(source, now)
    except TrackerError as exc:
        return ImportReport(source.name, False, now, f"failed, last good data kept: {exc}")
    if not result.calls and (folder / ".imported.json").exists():
        return ImportReport(source.name, False, now, "failed, last good data kept: the portal "
                            "returned no calls at all", skipped=[str(s) for s in result.skipped])
    written = store(result, folder, kind=source.kind, scope=source.scope, filt=source.filter,
                    today=now.date())
    return ImportReport(source.name, True, now, summary(source.kind, result, written), written,
                        [str(s) for s in result.skipped], [str(w) for w in result.warnings])
