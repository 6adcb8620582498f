"""Service commands: feeds build, serve, run (the daemon), status, db upgrade."""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from tracker.cli import app, clock_now, command, open_store, settings_of, synced
from tracker.cli.mailing import mail_base_url, transport

feeds_app = typer.Typer(help="iCal feeds.", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")

Host = Annotated[str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")]
Port = Annotated[int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)]


@command("build", "tracker feeds build --out public/calendars", feeds_app)
def feeds_build(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option(
        "--out", metavar="DIR", help="Folder to write to (default: setting 'calendars').",
        file_okay=False)] = None,
) -> None:
    """Write the feeds (everything, milestones, one per call, tag and programme) and index.json."""
    from tracker.calendar import feeds

    settings = settings_of(ctx)
    store = open_store(settings)
    synced(settings, store)
    folder = out or settings.calendars
    report = feeds.build(store, folder, settings.base_url or "http://127.0.0.1:8080",
                         clock_now())
    typer.echo(f"{folder}: {len(report.written)} file(s) written, "
               f"{len(report.unchanged)} unchanged.")


@command("serve", "TRACKER_BASE_URL=https://grants.example.org tracker serve --port 8080")
def serve(ctx: typer.Context, host: Host = "127.0.0.1", port: Port = 8080) -> None:
    """Serve the feeds over HTTP (ETag, 304, gzip, ?call=&tag=&kind= filters) and an index page.
    The feeds are built into the 'calendars' folder and served from there, rebuilt whenever
    the store changes."""
    from tracker.web.app import make_app
    from tracker.web.feedfiles import FeedFolder
    from tracker.web.serve import serve as run_server

    settings = settings_of(ctx)
    store = open_store(settings)
    synced(settings, store)
    shown = settings.base_url or f"http://{host}:{port}"
    app = make_app(store, settings.base_url, seeds=list(settings.seeds),
                   sender=settings.mail_from, default_zone=settings.timezone,
                   folder=FeedFolder(settings.calendars, store, shown))
    app.state.feeds.refresh()  # build before the first request, not during it
    typer.echo(f"Serving {shown}/ on http://{host}:{port}/ (Ctrl+C stops)")
    run_server(app, host, port)


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
    host: Host = "127.0.0.1",
    port: Port = 8080,
    sync_every: Annotated[str, typer.Option(
        "--sync-every", metavar="DURATION", help="How often to look for rule changes (30s, "
        "5min, 1h).")] = "30s",
    allow_loopback: Annotated[bool, typer.Option(
        "--allow-loopback-links", help="Send mail over SMTP even though links point at this "
        "machine (tests).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Run the scheduler: sync rules, rebuild feeds, queue and send digests and alerts. Stops
    cleanly on SIGTERM: nothing is left half-sent. On PostgreSQL several may run: one leads,
    all send."""
    from tracker import daemon, userinput

    stopping = daemon.catch_stop_signals()
    setup_logging(verbose, logging.INFO)
    settings = settings_of(ctx)
    every = userinput.interval(sync_every, "--sync-every")
    base = mail_base_url(settings, allow_loopback)
    store = open_store(settings)
    from tracker.store.claims import several_senders

    shared = several_senders(store)  # PostgreSQL: any number run; one leads (tracker.daemon)
    with nullcontext() if shared else store.exclusive("tracker run", wait=5.0):
        from tracker.importers import parse_sources

        runner = daemon.Runner(store, list(settings.seeds), settings.calendars, base,
                               settings.mail_from, lambda: transport(settings),
                               sources=parse_sources(settings.imports),
                               imported=settings.imported, shared=shared)
        scheduled = daemon.start(runner, every)
        if serve_http:
            from tracker.web.app import make_app
            from tracker.web.feedfiles import FeedFolder
            from tracker.web.serve import serve as run_server

            app = make_app(store, settings.base_url, seeds=list(settings.seeds),
                           sender=settings.mail_from, default_zone=settings.timezone,
                           folder=FeedFolder(settings.calendars))  # the scheduler builds them
            run_server(app, host, port, scheduled.stop, stopping)
        else:
            daemon.run_forever(scheduled, stopping)


@command("status", "tracker status")
def status(ctx: typer.Context) -> None:
    """Show the last sync, the scheduler's next runs, outbox counts and last errors."""
    from tracker import usecases
    from tracker.cli import views

    store = open_store(settings_of(ctx))
    typer.echo(views.status_text(usecases.status(store, clock_now())))


@command("upgrade", "TRACKER_DATABASE_URL=sqlite:///tracker.db tracker db upgrade", db_app)
def db_upgrade(ctx: typer.Context) -> None:
    """Create the database or upgrade it to this version's schema (history is kept)."""
    from tracker import store as db
    from tracker.urls import mask

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
