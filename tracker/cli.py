"""Typer command line: parse arguments, call the service, print; errors: one line + exit code."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer

from tracker import feeds, feedset, output, service
from tracker import store as db
from tracker.config import SETTINGS, Settings, load_settings
from tracker.errors import RuleError, TrackerError
from tracker.timeparse import parse_day, parse_within, parse_zone, start_of_day

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="tracker",
    help="Grant-call tracker: deadlines, iCal feeds and email digests from call rules.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class Format(StrEnum):
    """Output formats of `tracker deadlines`."""

    table = "table"
    json = "json"
    csv = "csv"
    ics = "ics"


def handled(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a TrackerError into its message on stderr and its exit code: never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except TrackerError as exc:
            typer.echo(f"Error: {exc}" if not isinstance(exc, RuleError) else str(exc), err=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def command(name: str, example: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Register a command with an example in its help and one error handler."""

    def register(fn: Callable[P, R]) -> Callable[P, R]:
        app.command(name, epilog=f"Example: {example}")(handled(fn))
        return fn

    return register


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option(
        "--config", help="Config file (default: $TRACKER_CONFIG, ./tracker.toml, or the user's "
        "config dir).", dir_okay=False)] = None,
    seeds: Annotated[list[Path] | None, typer.Option(
        "--seeds", help="Rule folder or file; repeat for several (overrides TRACKER_SEEDS).")]
    = None,
) -> None:
    """Grant-call tracker: deadlines, iCal feeds and email digests from call rules."""
    ctx.obj = {"config": config, "seeds": [str(s) for s in seeds] if seeds else None}


def settings_of(ctx: typer.Context, **overrides: Any) -> Settings:
    """Effective settings for this invocation."""
    obj = ctx.obj or {}
    return load_settings(obj.get("config"), overrides={"seeds": obj.get("seeds"), **overrides})


def reader_now(settings: Settings, as_of: str | None, tz: str | None) -> datetime:
    """The reader's 'now': the real clock, or the start of --as-of day, in the reader's zone."""
    zone = parse_zone(tz) if tz else parse_zone(settings.timezone, "timezone")
    if as_of:
        return start_of_day(parse_day(as_of, "--as-of"), zone)
    return datetime.now(UTC).astimezone(zone)


AsOf = Annotated[str | None, typer.Option(
    "--as-of", metavar="DATE", help="See things as they stood at the start of this day "
    "(YYYY-MM-DD); later amendments are ignored.")]
Tz = Annotated[str | None, typer.Option(
    "--tz", metavar="ZONE", help="Show times in this zone too (default: setting 'timezone').")]


@command("deadlines", "tracker deadlines --within 90d --kind cutoff --tz America/New_York")
def deadlines(
    ctx: typer.Context,
    as_of: AsOf = None,
    within: Annotated[str | None, typer.Option(
        "--within", metavar="90d", help="Only the next N days/weeks/months/years (90d, 12w, "
        "6m, 1y).")] = None,
    until: Annotated[str | None, typer.Option(
        "--until", metavar="DATE", help="Only items up to this day.")] = None,
    call: Annotated[list[str] | None, typer.Option(
        "--call", metavar="ID", help="Only this call (id or official identifier); repeatable.")]
    = None,
    kind: Annotated[list[str] | None, typer.Option(
        "--kind", help="opening, cutoff, closing or milestone; repeatable.")] = None,
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", help="Only items with this tag; repeat for any of several.")] = None,
    tz: Tz = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
    = Format.table,
    show_all: Annotated[bool, typer.Option("--all", help="Include past items too.")] = False,
) -> None:
    """List what is coming: cut-offs, openings, closings and milestones, nearest first."""
    settings = settings_of(ctx)
    now = reader_now(settings, as_of, tz)
    if within and until:
        raise typer.BadParameter("give --within or --until, not both")
    last = parse_within(within, now.date()) if within else \
        parse_day(until, "--until") if until else None
    query = service.Query(now=now, until=last, calls=tuple(call or ()),
                          kinds=service.parse_kinds(kind or ()), tags=tuple(tag or ()),
                          include_past=show_all)
    if as_of:  # the list as it stood on a past day comes from the rules themselves
        items = service.deadlines(service.rules_from(settings.seeds), query)
    else:
        store = open_store(settings)
        service.ensure_synced(store, settings.seeds, now)
        items = service.stored_deadlines(store, query)
    if fmt is Format.json:
        typer.echo(output.as_json(items, now))
    elif fmt is Format.csv:
        typer.echo(output.as_csv(items, now), nl=False)
    elif fmt is Format.ics:
        sys.stdout.buffer.write(feeds.calendar(items, "Grant deadlines", stamp=now))
    else:
        typer.echo(output.deadlines_table(items, now))


@command("calls", "tracker calls --as-of 2025-01-15")
def calls(ctx: typer.Context, as_of: AsOf = None, tz: Tz = None) -> None:
    """List calls with their submission model, status, next cut-off and budget."""
    settings = settings_of(ctx)
    now = reader_now(settings, as_of, tz)
    typer.echo(output.calls_table(service.calls(service.rules_from(settings.seeds), now), now))


@command("show", "tracker show ai-factories")
def show(
    ctx: typer.Context,
    call_id: Annotated[str, typer.Argument(metavar="ID", help="Call id or official identifier.")],
    as_of: AsOf = None,
    tz: Tz = None,
) -> None:
    """Show one call: its facts, cut-offs past and future, amendments and sources."""
    settings = settings_of(ctx)
    now = reader_now(settings, as_of, tz)
    detail = service.show(service.rules_from(settings.seeds), call_id, now)
    typer.echo(output.detail(detail, now))


@command("check", "tracker check seeds/")
def check(
    ctx: typer.Context,
    paths: Annotated[list[Path] | None, typer.Argument(
        metavar="[PATH]...", help="Rule files or folders (default: the configured seeds).")]
    = None,
) -> None:
    """Validate rule files; list every problem with file and line; exit 2 if any."""
    targets = list(paths) if paths else settings_of(ctx).seeds
    rules, problems = service.check(targets)
    if problems:
        raise RuleError(problems)
    typer.echo(f"OK: {len(rules)} rule file(s) valid.")


def open_store(settings: Settings) -> db.Store:
    """The configured store, created or upgraded on first use."""
    return db.open_store(settings.database_url)


@command("sync", "tracker sync")
def sync(ctx: typer.Context) -> None:
    """Load every rule file and apply the differences to the store in one transaction."""
    settings = settings_of(ctx)
    store = open_store(settings)
    pause = float(os.environ.get("TRACKER_TEST_SYNC_PAUSE", "0") or 0)  # crash tests only
    report = service.sync(store, settings.seeds, datetime.now(UTC), pause)
    if not report.wrote:
        typer.echo("Up to date: nothing changed.")
        return
    typer.echo(f"Synced: {report.added} added, {report.changed} changed, "
               f"{report.withdrawn} withdrawn.")


@command("changes", "tracker changes --since 2025-01-01 --call ai-factories")
def changes(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(
        "--since", metavar="DATE", help="Only changes detected on or after this day.")] = None,
    call: Annotated[list[str] | None, typer.Option(
        "--call", metavar="ID", help="Only this call; repeatable.")] = None,
    tz: Tz = None,
) -> None:
    """List what changed: cut-offs moved, added, cancelled, budgets revised, with old and new."""
    settings = settings_of(ctx)
    now = reader_now(settings, None, tz)
    store = open_store(settings)
    service.ensure_synced(store, settings.seeds, datetime.now(UTC))
    start = start_of_day(parse_day(since, "--since"), now.tzinfo) if since else None  # type: ignore[arg-type]
    ids = [service.resolve_call(db.call_names(store), c) for c in call or ()]
    typer.echo(output.changes_table(service.changes(store, start, ids), now))


feeds_app = typer.Typer(help="iCal feeds.", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")


@feeds_app.command("build", epilog="Example: tracker feeds build --out public/calendars")
@handled
def feeds_build(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder to write to (default: setting 'calendars').", file_okay=False)]
    = None,
) -> None:
    """Write the feeds (everything, milestones, one per call, tag and programme) and index.json."""
    settings = settings_of(ctx)
    store = open_store(settings)
    service.ensure_synced(store, settings.seeds, datetime.now(UTC))
    folder = out or settings.calendars
    report = feedset.build(store, folder, settings.base_url)
    typer.echo(f"{folder}: {len(report.written)} file(s) written, "
               f"{len(report.unchanged)} unchanged.")


@command("serve", "TRACKER_BASE_URL=https://grants.example.org tracker serve --port 8080")
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8080,
) -> None:
    """Serve the feeds over HTTP (ETag, 304, gzip, ?call=&tag=&kind= filters) and an index page."""
    from tracker import server

    settings = settings_of(ctx)
    store = open_store(settings)
    service.ensure_synced(store, settings.seeds, datetime.now(UTC))
    feedset.build(store, settings.calendars, settings.base_url)
    typer.echo(f"Serving {settings.base_url}/ on http://{host}:{port}/ (Ctrl+C stops)")
    server.serve(store, settings.calendars, settings.base_url, host, port)


db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade", epilog="Example: TRACKER_DATABASE_URL=sqlite:///tracker.db "
                "tracker db upgrade")
@handled
def db_upgrade(ctx: typer.Context) -> None:
    """Create the database or upgrade it to this version's schema (history is kept)."""
    settings = settings_of(ctx)
    engine = db.make_engine(settings.database_url)
    before = db.current_revision(engine)
    db.upgrade(engine)
    after = db.current_revision(engine)
    where = db.mask_url(settings.database_url)
    if before == after:
        typer.echo(f"{where}: already at schema {after}.")
    else:
        typer.echo(f"{where}: upgraded schema {before or 'none'} -> {after}.")


@command("config", "TRACKER_TIMEZONE=Europe/Paris tracker config")
def config(ctx: typer.Context) -> None:
    """Print the effective settings and where each came from (secrets masked)."""
    settings = settings_of(ctx)
    where = settings.config_file or "none found"
    lines = [f"config file: {where}", ""]
    rows = [(s.name, settings.shown(s.name), settings.origins[s.name], s.env) for s in SETTINGS]
    lines.append(output.table(rows, ("SETTING", "VALUE", "FROM", "ENVIRONMENT")))
    typer.echo("\n".join(lines))


def main() -> None:
    """Console-script entry point."""
    app()
