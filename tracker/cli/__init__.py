"""The Typer command line: parse arguments, call a use case, print what it returns.

One module per group of commands (`lists`, `mailing`, `service`, `setup`); `render` and `views`
turn values into text. Errors become one line on stderr and an exit code, never a traceback.
Heavy parts (the database, the web server) are imported inside the commands that need them,
so `tracker --help` stays fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer

from tracker import __version__
from tracker.errors import RuleError, TrackerError

if TYPE_CHECKING:
    from tracker.config import Settings
    from tracker.store import Store

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="tracker",
    help="Grant-call tracker: deadlines, iCal feeds and email digests from call rules.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error line on stderr; return the Exit to raise."""
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def handled(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a TrackerError into its message on stderr and its exit code: never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except RuleError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(exc.exit_code) from None
        except TrackerError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except OSError as exc:  # a folder that is a file, a path we may not write, ...
            where = f": {exc.filename}" if exc.filename else ""
            raise fail(f"{exc.strerror or exc}{where}") from None

    return wrapper


def command(name: str, example: str, group: typer.Typer | None = None) \
        -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Register a command with an example in its help and one error handler."""

    def register(fn: Callable[P, R]) -> Callable[P, R]:
        (group or app).command(name, epilog=f"Example: {example}")(handled(fn))
        return fn

    return register


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tracker {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option(
        "--config", metavar="FILE", help="Config file (default: $TRACKER_CONFIG, the "
        "project's tracker.toml, or the user's config dir).", dir_okay=False)] = None,
    seeds: Annotated[list[Path] | None, typer.Option(
        "--seeds", metavar="DIR", help="Rule folder or file; repeat for several (overrides "
        "TRACKER_SEEDS and the project's seeds/).")] = None,
    version: Annotated[bool, typer.Option(  # noqa: ARG001 (handled by its callback)
        "--version", callback=_version, is_eager=True, help="Show the version and exit.")]
    = False,
) -> None:
    """Grant-call tracker: deadlines, iCal feeds and email digests from call rules."""
    given = ctx.obj or {}
    _clock.set(given.get("clock"))
    ctx.obj = {"config": config, "seeds": [str(s) for s in seeds] if seeds else None}


_clock: ContextVar[Callable[[], datetime] | None] = ContextVar("clock", default=None)


def clock_now() -> datetime:
    """This invocation's 'now': the real clock, unless the program running the app gave one
    (`app(args, obj={"clock": callable})`), as tracker.web and tracker.daemon take a clock."""
    clock = _clock.get()
    return clock() if clock else datetime.now(UTC)


def settings_of(ctx: typer.Context, **overrides: Any) -> Settings:
    """Effective settings for this invocation."""
    obj = ctx.find_root().obj or {}
    from tracker.config import load_settings  # not for --help

    return load_settings(obj.get("config"), overrides={"seeds": obj.get("seeds"), **overrides})


def open_store(settings: Settings) -> Store:
    """The configured store, created or upgraded on first use (said once, on stderr)."""
    from tracker import store as db

    url = settings.database_url
    new = url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists()
    store = db.open_store(url)
    if new and sys.stderr.isatty():
        typer.echo(f"Created the database {url.removeprefix('sqlite:///')} (first use).",
                   err=True)
    return store


def synced(settings: Settings, store: Store) -> None:
    """Bring the store up to date with the rule files; a broken file is one line, not a stop."""
    from tracker.usecases import ensure_synced

    fresh = ensure_synced(store, settings.seeds, clock_now())
    if fresh.problem:
        typer.echo(f"Warning: {fresh.problem}", err=True)


def reader_now(settings: Settings, as_of: str | None, tz: str | None) -> datetime:
    """The reader's 'now' (`clock_now`), or the start of --as-of day, in the reader's zone."""
    from tracker import userinput

    zone = userinput.zone(tz) if tz else userinput.zone(settings.timezone, "timezone")
    if as_of:
        return userinput.start_of_day(userinput.day(as_of, "--as-of"), zone)
    return clock_now().astimezone(zone)


def known_day(as_of: str | None) -> date | None:
    """With --as-of DAY, what had been announced by DAY (whatever the reader's zone)."""
    from tracker import userinput

    return userinput.day(as_of, "--as-of") if as_of else None


AsOf = Annotated[str | None, typer.Option(
    "--as-of", metavar="DATE", help="See things as they stood at the start of this day "
    "(YYYY-MM-DD): only what had been announced by then.")]
Tz = Annotated[str | None, typer.Option(
    "--tz", metavar="ZONE", help="Show times in this zone too (default: setting 'timezone').")]


def main() -> None:
    """Console-script entry point."""
    app()


from tracker.cli import lists, mailing, service, setup  # noqa: E402  (they register commands)
from tracker.extract.command import register as _register_extract  # noqa: E402
from tracker.importers.command import register as _register_imports  # noqa: E402


def _after_import(ctx: typer.Context) -> None:
    """An import is a sync: its changes reach the store (and history) at once."""
    from tracker import usecases

    settings = settings_of(ctx)
    report = usecases.sync(open_store(settings), settings.seeds, clock_now())
    typer.echo(f"Synced: {report.added} added, {report.changed} changed, "
               f"{report.withdrawn} withdrawn.")


_register_extract(app)
_register_imports(app, after_import=_after_import,
                  default_folder=lambda ctx, kind: settings_of(ctx).imported / kind)

__all__ = ["app", "lists", "mailing", "main", "service", "setup"]
