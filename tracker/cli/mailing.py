"""Mail commands: subscribe, unsubscribe, subscribers, digest preview/send, outbox, retry."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tracker.cli import AsOf, app, clock_now, command, fail, open_store, settings_of, synced
from tracker.cli.lists import Fmt, ListFormat
from tracker.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from tracker.config import Settings
    from tracker.mail.transport import Transport

digest_app = typer.Typer(help="Email digests.", no_args_is_help=True)
app.add_typer(digest_app, name="digest")


def mail_base_url(settings: Settings, allow_loopback: bool) -> str:
    """The base URL for links in mail; refuses loopback links in real (SMTP) mail."""
    from tracker.urls import is_loopback

    base = settings.base_url or "http://127.0.0.1:8080"
    if settings.smtp_url and is_loopback(base) and not allow_loopback:
        raise UsageError(f"links in these mails would point at {base}, which only this machine "
                         "can open: set base_url (TRACKER_BASE_URL) to the server's public "
                         "address, or pass --allow-loopback-links for a test")
    return base


def transport(settings: Settings) -> Transport:
    """SMTP when configured, else the maildir."""
    from tracker.mail.transport import transport_for

    return transport_for(settings.smtp_url, settings.maildir)


@command("subscribe", "tracker subscribe ana@uni.example --call ai-factories --every weekly "
         "--at 08:00 --tz Europe/Madrid --alerts 14d,3d")
def subscribe(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="Address for digests and "
                                         "alerts.")],
    call: Annotated[list[str] | None, typer.Option(
        "--call", metavar="ID", help="Follow these calls (repeatable or comma-separated; '' "
        "clears).")] = None,
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", metavar="TAG", help="Follow calls with any of these tags ('' clears).")]
    = None,
    kind: Annotated[list[str] | None, typer.Option(
        "--kind", metavar="KIND", help="Only these kinds: opening, cutoff, closing, milestone "
        "('' clears).")] = None,
    every: Annotated[str | None, typer.Option(
        "--every", metavar="daily|weekly|monthly", help="Weekly is on Mondays, monthly on "
        "the 1st (default weekly).")] = None,
    at: Annotated[str | None, typer.Option(
        "--at", metavar="HH:MM", help="Hour to send, in --tz (default 08:00).")] = None,
    tz: Annotated[str | None, typer.Option(
        "--tz", metavar="ZONE", help="Your zone (default: setting 'timezone').")] = None,
    horizon: Annotated[str | None, typer.Option(
        "--horizon", metavar="DAYS", help="How far ahead a digest looks (default 60d).")]
    = None,
    alerts: Annotated[list[str] | None, typer.Option(
        "--alerts", metavar="DAYS", help="Extra email these many days before each cut-off, "
        "e.g. 14d,3d; '' for none.")] = None,
    empty: Annotated[bool | None, typer.Option(
        "--empty/--no-empty", help="Also send a digest when there is nothing to say.")] = None,
) -> None:
    """Subscribe an address to digests (and alerts), or change an existing subscription."""
    from tracker import userinput as ui
    from tracker.cli import views
    from tracker.mail import subscriptions

    settings = settings_of(ctx)
    store = open_store(settings)
    synced(settings, store)

    def listed(values: list[str] | None) -> tuple[str, ...] | None:
        return None if values is None else ui.items(values)

    wanted = subscriptions.Changes(
        calls=listed(call), tags=listed(tag),
        kinds=None if kind is None else ui.kinds(kind), every=ui.every(every) if every else None,
        at=ui.time_of_day(at) if at else None, timezone=ui.zone(tz).key if tz else None,
        horizon_days=ui.days(horizon, "--horizon") if horizon else None,
        alerts=None if alerts is None else tuple(sorted(
            {ui.days(a, "--alerts") for a in ui.items(alerts)}, reverse=True)),
        send_empty=empty)
    sub, created, warnings = subscriptions.subscribe(store, ui.email(email), clock_now(),
                                                     wanted, settings.timezone)
    typer.echo(("Subscribed " if created else "Updated ") + views.subscription_line(sub))
    for w in warnings:
        typer.echo(f"Warning: {w}", err=True)


@command("unsubscribe", "tracker unsubscribe ana@uni.example")
def unsubscribe(ctx: typer.Context, email: Annotated[str, typer.Argument(
        metavar="EMAIL", help="Address to remove.")]) -> None:
    """Stop all digests and alerts to an address."""
    from tracker import userinput
    from tracker.mail import subscriptions

    store = open_store(settings_of(ctx))
    subscriptions.unsubscribe(store, userinput.email(email), clock_now())
    typer.echo(f"Unsubscribed {email}.")


@command("subscribers", "tracker subscribers --all --format json")
def subscribers(ctx: typer.Context, show_all: Annotated[bool, typer.Option(
        "--all", help="Include unsubscribed addresses.")] = False,
                fmt: Fmt = ListFormat.table) -> None:
    """List subscriptions: address, what they follow, when they get mail."""
    from tracker.cli import render, views
    from tracker.store import subscribers as subs

    found = subs.list_subscriptions(open_store(settings_of(ctx)), active_only=not show_all)
    if fmt is ListFormat.json:
        typer.echo(render.as_json([{
            "email": s.email, "active": s.active, "calls": list(s.calls), "tags": list(s.tags),
            "kinds": [k.value for k in s.kinds], "every": s.every.value,
            "at": s.at.strftime("%H:%M"), "timezone": s.timezone,
            "horizon_days": s.horizon_days, "alerts": list(s.alerts)} for s in found]))
        return
    typer.echo("\n".join(views.subscription_line(s) for s in found) or "No subscribers.")


@command("preview", "tracker digest preview ana@uni.example --as-of 2024-10-28 "
         "--html /tmp/digest.html", digest_app)
def digest_preview(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="A subscribed address.")],
    as_of: AsOf = None,
    html: Annotated[Path | None, typer.Option(
        "--html", metavar="FILE", help="Also write the HTML version to this file.",
        dir_okay=False)] = None,
) -> None:
    """Print the digest this subscriber gets at their hour on --as-of (default: the current
    period): exactly what 'digest send' sends then. Sends nothing."""
    from tracker import usecases, userinput
    from tracker.mail import queue
    from tracker.store import subscribers as subs

    settings = settings_of(ctx)
    store = open_store(settings)
    synced(settings, store)
    sub = subs.get_subscription(store, userinput.email(email))
    if sub is None or not sub.active:
        raise NotFoundError(f"{email} is not subscribed; add it with 'tracker subscribe'.")
    now = clock_now()
    at = datetime.combine(userinput.day(as_of, "--as-of"), sub.at, sub.zone) if as_of else now
    rules = usecases.rules_from(settings.seeds)

    def as_known(day: object) -> list[object]:
        moment = datetime.combine(day, sub.at, sub.zone)  # type: ignore[arg-type]
        return usecases.deadlines(rules, usecases.Query(now=moment, known=day))  # type: ignore[arg-type,return-value]

    shown = queue.preview(store, sub, at, mail_base_url(settings, True), settings.mail_from,
                          as_known, now)  # type: ignore[arg-type]
    typer.echo(f"Subject: {shown.subject}\n\n{shown.text}")
    if html is not None:
        html.write_text(shown.html, encoding="utf-8")
        typer.echo(f"HTML written to {html}", err=True)


@command("send", "TRACKER_SMTP_URL=smtp://127.0.0.1:2525 tracker digest send", digest_app)
def digest_send(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what is due; queue and send nothing.")] = False,
    allow_loopback: Annotated[bool, typer.Option(
        "--allow-loopback-links", help="Send over SMTP even though links point at this "
        "machine (tests).")] = False,
) -> None:
    """Queue the digests and alerts that are due, then send everything pending."""
    from tracker.mail import queue

    settings = settings_of(ctx)
    base = mail_base_url(settings, allow_loopback)
    store = open_store(settings)
    now = clock_now()
    synced(settings, store)
    queued = queue.queue_due(store, now, base, settings.mail_from, dry_run)
    for err in queued.errors:
        typer.echo(f"Could not prepare: {err}", err=True)
    if dry_run:
        typer.echo("\n".join(queued.planned) or "Nothing is due.")
        return
    sent = queue.send_due(store, transport(settings), settings.mail_from, now)
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
    from tracker import usecases

    if not ids and not every:
        raise fail("name outbox ids, or --all", 2)
    store = open_store(settings_of(ctx))
    count = usecases.retry(store, ids or [], clock_now())
    typer.echo(f"{count} message(s) queued again; 'tracker digest send' sends them.")


@command("outbox", "tracker outbox --state failed")
def outbox_list(
    ctx: typer.Context,
    state: Annotated[list[str] | None, typer.Option(
        "--state", metavar="STATE", help="pending, sending, sent or failed; repeatable or "
        "comma-separated.")] = None,
    fmt: Fmt = ListFormat.table,
) -> None:
    """Show queued mail with its subject, state, attempts and last error."""
    from tracker import userinput
    from tracker.cli import render, views
    from tracker.models import OutboxState
    from tracker.store import outbox

    try:
        states = tuple(OutboxState(s) for s in userinput.items(state or ()))
    except ValueError:
        raise fail(f"--state: use {', '.join(s.value for s in OutboxState)}", 2) from None
    store = open_store(settings_of(ctx))
    rows = outbox.list_outbox(store, states)
    if fmt is ListFormat.json:
        typer.echo(render.as_json([{
            "id": r.id, "state": r.state.value, "attempts": r.attempts, "to": r.recipient,
            "subject": r.subject, "kind": r.kind, "last_error": r.last_error,
            "created_at": r.created_at, "sent_at": r.sent_at} for r in rows]))
        return
    counts = outbox.outbox_counts(store)
    typer.echo(", ".join(f"{k.value}: {v}" for k, v in counts.items()))
    if rows:
        typer.echo(views.outbox_table(rows))
