"""Listing commands: deadlines, calls, show, changes; and check and sync of the rule files."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tracker.cli import (
    AsOf,
    Tz,
    clock_now,
    command,
    known_day,
    open_store,
    reader_now,
    settings_of,
    synced,
)
from tracker.errors import RuleError

if TYPE_CHECKING:
    from tracker.config import Settings
    from tracker.models import Rule
    from tracker.store import Store


class Format(StrEnum):
    """Output formats of the listings."""

    table = "table"
    json = "json"
    csv = "csv"
    ics = "ics"


class ListFormat(StrEnum):
    """Output formats of the other listings."""

    table = "table"
    json = "json"


Fmt = Annotated[ListFormat, typer.Option("--format", "-f", help="Output format.")]
Repeat = Annotated[list[str] | None, typer.Option(metavar="ID")]


def _nothing(items_known: int, filtered: bool) -> str:
    """Why a listing is empty, and what to do."""
    if filtered:
        return "Nothing upcoming matches. Try --all, a later --until, or fewer filters."
    why = f"all {items_known} tracked dates have passed" if items_known else "no rules loaded"
    return (f"Nothing upcoming: {why}. Add rules under seeds/ (tracker init makes a "
            "project), import calls (tracker import ftportal --fetch), or see the past with "
            "--all.")


@command("deadlines", "tracker deadlines --within 90d --kind cutoff --tz America/New_York")
def deadlines(
    ctx: typer.Context,
    as_of: AsOf = None,
    within: Annotated[str | None, typer.Option(
        "--within", metavar="DURATION", help="Only the next 90d, 12w, 6mo or 1y.")] = None,
    until: Annotated[str | None, typer.Option(
        "--until", metavar="DATE", help="Only items up to this day.")] = None,
    call: Annotated[list[str] | None, typer.Option(
        "--call", metavar="ID", help="Only these calls (id or official identifier); "
        "repeatable or comma-separated.")] = None,
    kind: Annotated[list[str] | None, typer.Option(
        "--kind", metavar="KIND", help="opening, cutoff, closing or milestone; repeatable or "
        "comma-separated.")] = None,
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", metavar="TAG", help="Items with any of these tags; repeatable or "
        "comma-separated.")] = None,
    tz: Tz = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
    = Format.table,
    show_all: Annotated[bool, typer.Option("--all", help="Include past items too.")] = False,
) -> None:
    """List what is coming: cut-offs, openings, closings and milestones, nearest first."""
    from tracker import usecases, userinput
    from tracker.cli import render, views

    settings = settings_of(ctx)
    now = reader_now(settings, as_of, tz)
    if within and until:
        raise typer.BadParameter("give --within or --until, not both")
    last = userinput.within(within, now.date()) if within else \
        userinput.day(until, "--until") if until else None
    query = usecases.Query(now=now, until=last, calls=userinput.items(call or ()),
                           kinds=userinput.kinds(kind or ()), tags=userinput.items(tag or ()),
                           include_past=show_all, known=known_day(as_of))
    if as_of:  # the list as it stood on a past day comes from the rules themselves
        rules = usecases.rules_from(settings.seeds)
        items = usecases.deadlines(rules, query)
        everything = len(usecases.deadlines(rules, usecases.Query(now=now, include_past=True,
                                                                  known=query.known)))
    else:
        store = open_store(settings)
        synced(settings, store)
        items = usecases.stored_deadlines(store, query)
        everything = 0 if items else len(usecases.stored_deadlines(
            store, usecases.Query(now=now, include_past=True)))
    filtered = bool(query.calls or query.kinds or query.tags or last)
    if fmt is Format.json:
        typer.echo(render.as_json([render.record(o, now) for o in items]))
    elif fmt is Format.csv:
        typer.echo(render.as_csv(items, now), nl=False)
    elif fmt is Format.ics:
        from tracker.calendar.events import calendar
        from tracker.calendar.feeds import filter_title

        if not items:
            typer.echo(_nothing(everything, filtered) + " The calendar is empty.",
                       err=True)
        title = filter_title(query.filter(query.calls))
        sys.stdout.buffer.write(calendar(items, title, stamp=now))
    elif items:
        typer.echo(views.deadlines_table(items, now))
    else:
        typer.echo(_nothing(everything, filtered))
    if fmt is Format.table:
        for name, count, day in usecases.snapshots(settings.seeds):
            source = name.removesuffix("-snapshot")
            typer.echo(f"Includes {count} calls from the bundled {source} snapshot read on "
                       f"{day}: refresh with 'tracker import {source} --fetch'.", err=True)


def _readable(settings: Settings, store: Store | None = None) -> list[Rule]:
    """The rules in use; a broken file falls back to the store's last good state, said once."""
    from tracker import usecases

    rules, problem = usecases.readable_rules(settings.seeds, store or open_store(settings))
    if problem:
        typer.echo(f"Warning: {problem}", err=True)
    return rules


@command("calls", "tracker calls --as-of 2025-01-15 --format json")
def calls(ctx: typer.Context, as_of: AsOf = None, tz: Tz = None, fmt: Fmt = ListFormat.table) \
        -> None:
    """List calls with their submission model, status, next cut-off and budget."""
    from tracker import usecases
    from tracker.cli import render, views

    settings = settings_of(ctx)
    now = reader_now(settings, as_of, tz)
    rules = usecases.rules_from(settings.seeds) if as_of else _readable(settings)
    found = usecases.calls(rules, now, known_day(as_of))
    if fmt is ListFormat.json:
        typer.echo(render.as_json([views.call_record(c) for c in found]))
    else:
        typer.echo(views.calls_table(found, now) if found else "No calls known on that day.")


@command("show", "tracker show ai-factories --tz America/New_York")
def show(
    ctx: typer.Context,
    call_id: Annotated[str, typer.Argument(metavar="ID", help="Call id or official identifier.")],
    as_of: AsOf = None,
    tz: Tz = None,
) -> None:
    """Show one call: its facts, dates past and future (and how each is known), sources."""
    from tracker import usecases
    from tracker.cli import views

    settings = settings_of(ctx)
    now = reader_now(settings, as_of, tz)
    if as_of:
        detail = usecases.show(usecases.rules_from(settings.seeds), call_id, now,
                               known_day(as_of))
    else:
        store = open_store(settings)
        detail = usecases.show(_readable(settings, store), call_id, now, None, store)
    typer.echo(views.detail(detail, now))


@command("check", "tracker check seeds/")
def check(
    ctx: typer.Context,
    paths: Annotated[list[Path] | None, typer.Argument(
        metavar="[PATH]...", help="Rule files or folders (default: the seeds in use; see "
        "'tracker config').")] = None,
) -> None:
    """Validate rule files; list every problem with file and line; exit 2 if any."""
    from tracker import usecases

    targets = list(paths) if paths else list(settings_of(ctx).seeds)
    rules, problems = usecases.check(targets)
    errors = [p for p in problems if not p.warning]
    if errors:
        raise RuleError(errors)
    for p in problems:
        typer.echo(str(p), err=True)
    warned = f", {len(problems)} warning(s)" if problems else ""
    typer.echo(f"OK: {len(rules)} rule file(s) valid{warned}.")


@command("sync", "tracker sync")
def sync(ctx: typer.Context, prune: Annotated[bool, typer.Option(
        "--prune", help="Withdraw calls whose rule file is gone (otherwise the sync refuses "
        "and names them).")] = False) -> None:
    """Load every rule file and apply the differences to the store in one transaction."""
    from tracker import usecases

    settings = settings_of(ctx)
    store = open_store(settings)
    now = clock_now()
    report = usecases.sync(store, settings.seeds, now, "prune" if prune else "refuse")
    if report.baseline:
        typer.echo(f"Started tracking: {report.added} calls and dates recorded as a baseline.")
    elif not report.wrote:
        typer.echo("Up to date: nothing changed.")
    else:
        typer.echo(f"Synced: {report.added} added, {report.changed} changed, "
                   f"{report.withdrawn} withdrawn.")


@command("changes", "tracker changes --since 2025-01-01 --call ai-factories")
def changes(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(
        "--since", metavar="DATE", help="Only changes announced on or after this day.")] = None,
    call: Annotated[list[str] | None, typer.Option(
        "--call", metavar="ID", help="Only these calls; repeatable or comma-separated.")]
    = None,
    tz: Tz = None,
    fmt: Fmt = ListFormat.table,
) -> None:
    """List what changed: moves, additions, cancellations, budget revisions, old -> new."""
    from tracker import store as db
    from tracker import usecases, userinput
    from tracker.cli import render, views

    settings = settings_of(ctx)
    now = reader_now(settings, None, tz)
    store = open_store(settings)
    synced(settings, store)
    start = userinput.day(since, "--since") if since else None
    ids = [userinput.call_id(db.call_names(store), c) for c in userinput.items(call or ())]
    found = usecases.changes(store, start, ids)
    titles = usecases.titles(store, now)
    if fmt is ListFormat.json:
        typer.echo(render.as_json([views.change_record(c, now, titles) for c in found]))
    else:
        typer.echo(views.changes_table(found, now, titles))
