"""Typer command line: parse arguments, call the service, print; errors: one line + exit code."""

from __future__ import annotations

import functools
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer

from tracker import feeds, feedset, mailer, notify, output, service
from tracker import store as db
from tracker.config import SETTINGS, Settings, load_settings, mask
from tracker.errors import NotFoundError, RuleError, TrackerError
from tracker.store import mail
from tracker.timeparse import (
    parse_day,
    parse_interval,
    parse_within,
    parse_zone,
    start_of_day,
)

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
        except OSError as exc:  # a folder that is a file, a path we may not write, ...
            where = f": {exc.filename}" if exc.filename else ""
            typer.echo(f"Error: {exc.strerror or exc}{where}", err=True)
            raise typer.Exit(1) from None

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


def known_day(as_of: str | None) -> date | None:
    """With --as-of DAY, what had been announced by DAY (whatever the reader's zone)."""
    return parse_day(as_of, "--as-of") if as_of else None


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
                          include_past=show_all, known=known_day(as_of))
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
    typer.echo(output.calls_table(service.calls(service.rules_from(settings.seeds), now,
                                                known_day(as_of)), now))


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
    detail = service.show(service.rules_from(settings.seeds), call_id, now, known_day(as_of))
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
    port: Annotated[int, typer.Option("--port", help="Port to listen on.", min=1,
                                      max=65535)] = 8080,
) -> None:
    """Serve the feeds over HTTP (ETag, 304, gzip, ?call=&tag=&kind= filters) and an index page."""
    from tracker import server

    settings = settings_of(ctx)
    store = open_store(settings)
    service.ensure_synced(store, settings.seeds, datetime.now(UTC))
    feedset.build(store, settings.calendars, settings.base_url)
    typer.echo(f"Serving {settings.base_url}/ on http://{host}:{port}/ (Ctrl+C stops)")
    server.serve(store, settings.calendars, settings.base_url, host, port)


@command("subscribe", "tracker subscribe ana@uni.example --call ai-factories --every weekly "
         "--at 08:00 --tz Europe/Madrid --alerts 14d,3d")
def subscribe(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="Address to send digests and alerts to.")],
    call: Annotated[list[str] | None, typer.Option(
        "--call", metavar="ID", help="Follow this call; repeatable (default: all).")] = None,
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", help="Follow calls with this tag; repeatable (any of them).")] = None,
    kind: Annotated[list[str] | None, typer.Option(
        "--kind", help="Only these kinds (opening, cutoff, closing, milestone).")] = None,
    every: Annotated[str | None, typer.Option(
        "--every", help="daily, weekly (Mondays) or monthly (the 1st); default weekly.")] = None,
    at: Annotated[str | None, typer.Option(
        "--at", metavar="HH:MM", help="Hour to send, in --tz (default 08:00).")] = None,
    tz: Annotated[str | None, typer.Option(
        "--tz", metavar="ZONE", help="Your zone (default Europe/Brussels).")] = None,
    horizon: Annotated[str | None, typer.Option(
        "--horizon", help="How far ahead a digest looks (default 60d).")] = None,
    alerts: Annotated[str | None, typer.Option(
        "--alerts", help="Extra email N days before each cut-off, e.g. 14d,3d; '' for none.")]
    = None,
    empty: Annotated[bool | None, typer.Option(
        "--empty/--no-empty", help="Also send a digest when there is nothing to say.")] = None,
) -> None:
    """Subscribe an address to digests (and alerts), or change an existing subscription."""
    settings = settings_of(ctx)
    store = open_store(settings)
    service.ensure_synced(store, settings.seeds, datetime.now(UTC))
    sub, created = notify.subscribe(
        store, email, datetime.now(UTC), calls=call or (), tags=tag or (), kinds=kind or (),
        every=every, at=at, tz=tz, horizon=horizon, alerts=alerts, empty=empty)
    typer.echo(("Subscribed " if created else "Updated ") + output.subscription_line(sub))


@command("unsubscribe", "tracker unsubscribe ana@uni.example")
def unsubscribe(ctx: typer.Context,
                email: Annotated[str, typer.Argument(help="Address to remove.")]) -> None:
    """Stop all digests and alerts to an address."""
    store = open_store(settings_of(ctx))
    notify.unsubscribe(store, email, datetime.now(UTC))
    typer.echo(f"Unsubscribed {email}.")


@command("subscribers", "tracker subscribers --all")
def subscribers(ctx: typer.Context, show_all: Annotated[bool, typer.Option(
        "--all", help="Include unsubscribed addresses.")] = False) -> None:
    """List subscriptions: address, what they follow, when they get mail."""
    store = open_store(settings_of(ctx))
    subs = mail.list_subscriptions(store, active_only=not show_all)
    typer.echo("\n".join(output.subscription_line(s) for s in subs) or "No subscribers.")


digest_app = typer.Typer(help="Email digests.", no_args_is_help=True)
app.add_typer(digest_app, name="digest")


@digest_app.command("preview", epilog="Example: tracker digest preview ana@uni.example "
                    "--as-of 2024-10-28 --html /tmp/digest.html")
@handled
def digest_preview(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="A subscribed address.")],
    as_of: AsOf = None,
    html: Annotated[Path | None, typer.Option(
        "--html", help="Also write the HTML version to this file.", dir_okay=False)] = None,
) -> None:
    """Print the digest this subscriber would get (at their hour on --as-of); sends nothing."""
    settings = settings_of(ctx)
    store = open_store(settings)
    service.ensure_synced(store, settings.seeds, datetime.now(UTC))
    sub = mail.get_subscription(store, notify.valid_email(email))
    if sub is None:
        raise NotFoundError(f"{email} is not subscribed; add it with 'tracker subscribe'.")
    upcoming = None
    if as_of:
        now = datetime.combine(parse_day(as_of, "--as-of"), sub.at, sub.zone)
        upcoming = service.deadlines(service.rules_from(settings.seeds),
                                     service.Query(now=now, known=known_day(as_of)))
    else:
        now = datetime.now(UTC)
    subject, text, page = notify.preview(store, email, now, settings.base_url,
                                         settings.mail_from, upcoming)
    typer.echo(f"Subject: {subject}\n\n{text}")
    if html is not None:
        html.write_text(page, encoding="utf-8")
        typer.echo(f"HTML written to {html}", err=True)


@digest_app.command("send", epilog="Example: TRACKER_SMTP_URL=smtp://127.0.0.1:2525 "
                    "tracker digest send")
@handled
def digest_send(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what is due; queue and send nothing.")] = False,
) -> None:
    """Queue the digests and alerts that are due, then send everything pending."""
    settings = settings_of(ctx)
    store = open_store(settings)
    now = datetime.now(UTC)
    service.ensure_synced(store, settings.seeds, now)
    queued = notify.queue_due(store, now, settings.base_url, settings.mail_from, dry_run)
    for err in queued.errors:
        typer.echo(f"Could not prepare: {err}", err=True)
    if dry_run:
        typer.echo("\n".join(queued.planned) or "Nothing is due.")
        return
    transport = mailer.transport_for(settings.smtp_url, settings.maildir)
    sent = notify.send_due(store, transport, settings.mail_from, now)
    typer.echo(f"Queued {queued.digests} digest(s) and {queued.alerts} alert(s); "
               f"sent {sent.sent}, will retry {sent.retried}, failed {sent.failed} "
               f"(via {sent.where}).")
    for err in sent.errors:
        typer.echo(f"  {err}", err=True)
    if queued.errors or sent.failed:
        raise typer.Exit(1)


@command("retry", "tracker retry 12 13   (or: tracker retry --all)")
def retry(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Argument(metavar="[ID]...",
                                                    help="Outbox ids from 'tracker outbox'.")]
    = None,
    every: Annotated[bool, typer.Option("--all", help="Every failed message.")] = False,
) -> None:
    """Put failed messages back in the queue (after fixing an address or the SMTP settings)."""
    if not ids and not every:
        raise typer.BadParameter("name outbox ids, or --all")
    store = open_store(settings_of(ctx))
    count = mail.requeue(store, ids or [], datetime.now(UTC))
    typer.echo(f"{count} message(s) queued again; 'tracker digest send' sends them.")


@command("outbox", "tracker outbox --state failed")
def outbox_list(
    ctx: typer.Context,
    state: Annotated[list[str] | None, typer.Option(
        "--state", help="pending, sending, sent or failed; repeatable.")] = None,
) -> None:
    """Show queued mail with its state, attempts and last error."""
    store = open_store(settings_of(ctx))
    counts = mail.outbox_counts(store)
    typer.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))
    rows = mail.list_outbox(store, state or ())
    if rows:
        typer.echo(output.outbox_table(rows))


def setup_logging(verbose: bool, default: int = logging.WARNING) -> None:
    """One line per event: UTC time, level, logger, key=value message."""
    handler = logging.StreamHandler()
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                  "%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root_logger = logging.getLogger()
    root_logger.handlers[:] = [handler]
    root_logger.setLevel(logging.DEBUG if verbose else default)
    logging.getLogger("apscheduler").setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.INFO if verbose else logging.WARNING)


@command("run", "tracker run --serve --port 8080")
def run(
    ctx: typer.Context,
    serve_http: Annotated[bool, typer.Option(
        "--serve", help="Also serve the feeds and unsubscribe links over HTTP.")] = False,
    host: Annotated[str, typer.Option("--host", help="Address for --serve.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port for --serve.", min=1,
                                      max=65535)] = 8080,
    sync_every: Annotated[str, typer.Option(
        "--sync-every", help="How often to look for rule changes (30s, 5m, 1h).")] = "30s",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Run the scheduler: sync rules, rebuild feeds, queue and send digests and alerts."""
    from tracker import scheduler

    setup_logging(verbose, logging.INFO)
    settings = settings_of(ctx)
    every = parse_interval(sync_every, "--sync-every")
    store = open_store(settings)
    with store.exclusive("tracker run", wait=5.0):
        runner = scheduler.Runner(
            store, settings.seeds, settings.calendars, settings.base_url, settings.mail_from,
            lambda: mailer.transport_for(settings.smtp_url, settings.maildir))
        scheduled = scheduler.start(runner, every)
        if serve_http:
            from tracker import server

            try:
                server.serve(store, settings.calendars, settings.base_url, host, port)
            finally:
                scheduled.stop()
        else:
            scheduler.run_forever(scheduled)


@command("status", "tracker status")
def status(ctx: typer.Context) -> None:
    """Show the last sync, the scheduler's next runs, outbox counts and last errors."""
    settings = settings_of(ctx)
    store = open_store(settings)
    report = service.status(store, datetime.now(UTC))
    typer.echo(output.status_text(report))


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
    where = mask(settings.database_url)
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
