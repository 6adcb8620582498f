"""`tracker import ftportal|grantsgov`: the Typer command group; `register(app)` adds it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tracker.errors import TrackerError, UsageError

if TYPE_CHECKING:  # the importers are loaded by the commands that run them, not by --help
    from tracker.importers.model import ParseResult
    from tracker.importers.sources import ImportSource

AfterImport = Callable[[typer.Context], None]
FolderOf = Callable[[typer.Context, str], Path]
Out = Annotated[Path | None, typer.Option(
    "--out", help="Folder for the rule files (default: imported/<source> here).")]
Fetch = Annotated[bool, typer.Option("--fetch", help="Read the live portal instead of files.")]
Programme = Annotated[list[str] | None, typer.Option(
    "--programme", help="Only this programme (name or code); repeat for several.")]
Keyword = Annotated[list[str] | None, typer.Option(
    "--keyword", help="Only calls whose title, id or keywords contain this; repeatable.")]
Status = Annotated[str, typer.Option(
    "--status", help="Comma-separated statuses, computed from the dates.")]
CallId = Annotated[list[str] | None, typer.Option(
    "--call-id", help="Only topics of this call (or this topic/opportunity id); repeatable.")]
Retrieved = Annotated[str | None, typer.Option(
    "--retrieved", help="When the saved files were fetched (ISO date-time; default: their "
    "modification time).")]
Url = Annotated[str | None, typer.Option("--api-url", hidden=True)]
Delay = Annotated[float, typer.Option("--delay", help="Seconds between requests (be polite).")]


class _Bar:
    """A progress bar on stderr, created at the first page once the total is known."""

    def __init__(self, label: str) -> None:
        self.label, self.bar, self.done = label, None, 0
        self._ctx: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._ctx is None:
            import click  # only when a fetch shows progress

            self._ctx = click.progressbar(length=max(total, 1), label=self.label,
                                          file=sys.stderr)
            self.bar = self._ctx.__enter__()
        if self.bar is not None:
            self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(None, None, None)


def _statuses(kind: str, text: str) -> tuple[str, ...]:
    from tracker.importers.sources import STATUSES

    values = tuple(s.strip().lower() for s in text.split(",") if s.strip())
    for s in values:
        if s not in STATUSES[kind]:
            raise UsageError(f"--status: '{s}' is not a {kind} status; use "
                             f"{', '.join(STATUSES[kind])}")
    return values


def _retrieved(text: str | None, files: list[Path]) -> datetime:
    if text:
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"--retrieved: '{text}' is not an ISO date-time, e.g. "
                             "2026-11-25T10:00:00Z") from None
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    from tracker.importers.write import when_of

    return max(when_of(f) for f in files)


def _now(retrieved: str | None) -> datetime:
    """When the data is read: --retrieved when given (a replay of a saved run), else now."""
    return _retrieved(retrieved, []) if retrieved else datetime.now(UTC).replace(microsecond=0)


def _fetch(source: ImportSource, retrieved: str | None, delay: float, label: str,
           **where: str) -> ParseResult:
    """Read a portal live, with a progress bar, a polite delay and retries."""
    from tracker.importers.http import Retry
    from tracker.importers.live import fetch_source

    bar = _Bar(label)
    try:
        return fetch_source(source, _now(retrieved), retry=Retry(delay=delay), progress=bar,
                            **where)
    finally:
        bar.close()


def _report(ctx: typer.Context, kind: str, result: ParseResult, source: ImportSource,
            scope: str, out: Path | None, hooks: tuple[AfterImport | None, FolderOf | None],
            today: date) -> None:
    from tracker.importers.sources import store, summary

    after, folder_of = hooks
    folder = out or (folder_of(ctx, kind) if folder_of else Path("imported") / kind)
    written = store(result, folder, kind=kind, scope=scope, filt=source.filter, today=today)
    chosen = {c.identifier for c in result.calls if source.filter.matches(c, today)}
    for skipped in result.skipped:
        typer.echo(f"Skipped {skipped}", err=True)
    for warning in result.warnings:
        if warning.identifier in chosen:
            typer.echo(f"Note {warning}", err=True)
    for change in written.changes:
        typer.echo(f"Changed {change}")
    for rule_id in written.withdrawn:
        typer.echo(f"Withdrawn {rule_id} (no longer on the portal)")
    typer.echo(summary(kind, result, written))
    if after is not None:
        after(ctx)


def _run(fn: Callable[[], None]) -> None:
    try:
        fn()
    except TrackerError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None


def register(app: typer.Typer, after_import: AfterImport | None = None,
             default_folder: FolderOf | None = None) -> None:
    """Add `tracker import` to `app`; `after_import(ctx)` runs after writing (the sync).

    `default_folder(ctx, kind)` gives the folder when --out is not given (default:
    imported/<kind> in the current folder).
    """
    hooks = (after_import, default_folder)
    group = typer.Typer(help="Import calls from funding portals into rule files.",
                        no_args_is_help=True)

    @group.command("ftportal")
    def import_ftportal(
        ctx: typer.Context,
        files: Annotated[list[Path] | None, typer.Argument(
            help="Saved search-API responses (JSON).", exists=True, dir_okay=False)] = None,
        fetch: Fetch = False, programme: Programme = None, status: Status = "",
        keyword: Keyword = None, call_id: CallId = None, out: Out = None,
        retrieved: Retrieved = None, api_url: Url = None, delay: Delay = 1.0,
    ) -> None:
        """Import EU Funding & Tenders Portal topics.

        Example: tracker import ftportal --fetch --programme "Digital Europe" --status open
        """
        def go() -> None:
            from tracker.importers import ftportal
            from tracker.importers.ftportal_fetch import SEARCH_URL
            from tracker.importers.model import ParseResult
            from tracker.importers.sources import ImportSource
            from tracker.importers.write import scope_name

            source = ImportSource("cli", "ftportal", tuple(programme or ()),
                                  tuple(keyword or ()), _statuses("ftportal", status),
                                  tuple(call_id or ()))
            if fetch:
                result = _fetch(source, retrieved, delay, "Fetching topics",
                                ftportal_url=api_url or SEARCH_URL)
                scope = source.scope
            else:
                if not files:
                    raise UsageError("give saved JSON files, or --fetch to read the portal")
                when = _retrieved(retrieved, files)
                result = ParseResult()
                for f in files:
                    rows, broken = ftportal.records_from_text(f.read_text(encoding="utf-8"))
                    part = ftportal.parse_records(rows, when)
                    part.skipped[:0] = broken
                    result.extend(part)
                scope = scope_name("files", source.filter.pairs())
            _report(ctx, "ftportal", result, source, scope, out, hooks,
                    _now(retrieved).date() if fetch else _retrieved(retrieved, files or []).date())
        _run(go)

    @group.command("grantsgov")
    def import_grantsgov(
        ctx: typer.Context,
        extract: Annotated[Path | None, typer.Argument(
            help="Grants.gov XML extract, zipped or not.", exists=True, dir_okay=False)] = None,
        fetch: Fetch = False, agency: Annotated[list[str] | None, typer.Option(
            "--agency", help="Only this agency code (prefix, e.g. HHS-NIH); repeatable.")] = None,
        status: Status = "", keyword: Keyword = None, call_id: CallId = None, out: Out = None,
        close_time: Annotated[list[str] | None, typer.Option(
            "--close-time", help='Assumed close hour: "17:00 America/New_York" (default) or '
            '"AGENCY=HH:MM Zone"; repeatable.')] = None,
        retrieved: Retrieved = None, api_url: Url = None, delay: Delay = 1.0,
    ) -> None:
        """Import Grants.gov opportunities (synopses and forecasts).

        Example: tracker import grantsgov GrantsDBExtract20261125v2.zip --agency HHS-NIH
        """
        def go() -> None:
            from tracker.importers import grantsgov
            from tracker.importers.grantsgov_fetch import API_URL
            from tracker.importers.sources import ImportSource
            from tracker.importers.write import scope_name

            entries = {}
            for item in close_time or []:
                agency_code, sep, value = item.rpartition("=")
                entries[agency_code if sep else "default"] = value
            try:
                times = grantsgov.parse_close_times(entries)
            except ValueError as exc:
                raise UsageError(f"--close-time: {exc}") from None
            source = ImportSource("cli", "grantsgov", (), tuple(keyword or ()),
                                  _statuses("grantsgov", status), tuple(call_id or ()),
                                  tuple(agency or ()), close_times=times)
            filt_status = tuple(s for s in source.status if s not in ("forecasted", "posted"))
            plain = ImportSource("cli", "grantsgov", (), source.keyword, filt_status,
                                 source.call_id, source.agency)
            today = _now(retrieved).date()
            if fetch:
                result = _fetch(source, retrieved, delay, "Fetching opportunities",
                                grantsgov_url=api_url or API_URL)
                scope = source.scope
            else:
                if extract is None:
                    raise UsageError("give the XML extract, or --fetch to read the API")
                result = grantsgov.parse_extract(
                    extract, _retrieved(retrieved, [extract]), times,
                    lambda c: plain.filter.matches(c, today))  # keep only what is written
                scope = scope_name("files", source.filter.pairs())
            # forecasted/posted are kinds of record, not date statuses: filter them here
            kinds = {"forecasted": "forecast", "posted": "synopsis"}
            wanted = {kinds[s] for s in source.status if s in kinds}
            if wanted:
                result.calls = [c for c in result.calls if c.status_hint in wanted]
            _report(ctx, "grantsgov", result, plain, scope, out, hooks, _now(retrieved).date())
        _run(go)

    app.add_typer(group, name="import")
