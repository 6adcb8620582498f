"""What each command prints: deadlines, calls, one call, changes, subscriptions, outbox, status."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tracker import changes as history
from tracker import evidence
from tracker.cli.render import table, wrapped
from tracker.models import Change, ChangeKind, Occurrence, Status, Subscription, moment_label, money
from tracker.rules.schedule import at_deadline
from tracker.store.outbox import OutboxRow
from tracker.store.state import HEARTBEAT, Fact, import_job
from tracker.usecases import CallDetail, CallSummary, StatusReport, days_left


def _local(o: Occurrence, reader: datetime) -> str:
    if isinstance(o.start, datetime):
        return moment_label(o.start.astimezone(reader.tzinfo))
    return o.when_label()


def left(o: Occurrence, reader: datetime) -> str:
    """Days left as a person reads them: '12d', 'today', '3d ago', '5-35d', 'overdue'."""
    n = days_left(o, reader)
    if o.status is Status.OVERDUE:
        return "overdue"
    if o.end is not None:  # a month, quarter or year: from its first to its last day
        last = (o.end - reader.date()).days
        if last < 0:
            return f"{-last}d ago"
        return f"≤{last}d" if n <= 0 else f"{n}-{last}d"
    if n == 0:
        return "today"
    return f"{n}d" if n > 0 else f"{-n}d ago"


def status_cell(o: Occurrence) -> str:
    """The status with how the date is known, when it is not simply official."""
    mark = evidence.marker(o)
    status = o.status.value
    return f"{status} ({mark})" if mark and mark != status else status


def deadlines_table(items: Sequence[Occurrence], reader: datetime) -> str:
    """The `tracker deadlines` table: call's zone, reader's zone, days left, status."""
    zone = str(reader.tzinfo)
    same = all(o.timezone == zone or o.all_day for o in items)
    rows = []
    for o in items:
        title = o.title
        if o.status is Status.OVERDUE:
            title += f" — {evidence.overdue_words(o, reader)}"
        cells = [o.when_label()] + ([] if same else [_local(o, reader)])
        rows.append((*cells, left(o, reader), status_cell(o), o.kind.value, title))
    header = ["WHEN (CALL'S ZONE)"] + ([] if same else [f"YOUR TIME ({zone})"])
    n = len(header)
    return table(rows, (*header, "LEFT", "STATUS", "KIND", "ITEM"), styled=n + 1,
                 optional=(n + 2, *((1,) if n == 2 else ())))


def calls_table(items: Sequence[CallSummary], reader: datetime) -> str:
    """The `tracker calls` table (the next cut-off also in the reader's zone, when it differs)."""
    rows = []
    for c in items:
        r = c.rule
        model = r.submission.value if r.submission else r.type.value
        nxt = c.next_cutoff.when_label() if c.next_cutoff else "—"
        if c.next_cutoff and c.next_cutoff.timezone != str(reader.tzinfo):
            nxt += f" = {_local(c.next_cutoff, reader)}"
        if c.next_cutoff and evidence.marker(c.next_cutoff):
            nxt += f" ({evidence.marker(c.next_cutoff)})"
        budget = c.budget.label() if c.budget else "—"
        rows.append((r.id, c.state, model, nxt, budget, r.title))
    return table(rows, ("ID", "STATUS", "MODEL", "NEXT CUT-OFF", "BUDGET", "TITLE"), styled=1,
                 optional=(2, 4))


def call_record(c: CallSummary) -> dict[str, Any]:
    """The JSON form of one line of `tracker calls`."""
    r = c.rule
    return {"id": r.id, "title": r.title, "identifiers": list(r.identifiers), "state": c.state,
            "submission": r.submission.value if r.submission else None, "type": r.type.value,
            "next_cutoff": c.next_cutoff.start.isoformat() if c.next_cutoff else None,
            "budget": c.budget.amount if c.budget else None,
            "currency": c.budget.currency if c.budget else None,
            "budget_approximate": c.budget.approximate if c.budget else None,
            "announced": r.announced.isoformat() if r.announced else None,
            "url": r.url, "tags": list(r.tags), "programmes": list(r.programmes)}


def _line(label: str, value: object) -> list[str]:
    lines = wrapped(str(value), 14)
    return [f"{label + ':':<14}{lines[0].lstrip()}", *lines[1:]]


def detail(d: CallDetail, reader: datetime) -> str:
    """Everything about one call, for `tracker show` (times also in the reader's zone)."""
    r = d.rule
    out = [r.title, "=" * min(len(r.title), 80), *_line("id", r.id)]
    for label, value in (("identifiers", ", ".join(r.identifiers)), ("funder", r.funder),
                         ("programmes", ", ".join(r.programmes)), ("url", r.url),
                         ("tags", ", ".join(r.tags)),
                         ("announced", r.announced.isoformat() if r.announced else "")):
        if value:
            out += _line(label, value)
    out += _line("status", d.state)
    if r.submission:
        out += _line("submission", r.submission.value)
    if r.opens or r.closes:
        closes = moment_label(at_deadline(r, d.closes)) if d.closes else "—"
        if d.closes and r.closes and d.closes != r.closes:
            closes += f" (extended from {r.closes})"
        out += _line("open", f"{r.opens or '—'} to {closes}")
    hour = f"{r.deadline_time:%H:%M} {r.timezone} ({r.time_basis.value})"
    out += _line("deadlines", hour)
    if r.cutoffs.condition:
        out += _line("condition", r.cutoffs.condition)
    if d.budget:
        b = d.budget
        out += _line("budget", b.label() + (f" — {b.note}" if b.note else ""))
        for p in b.parts:
            amount = money(p.amount, b.currency) if p.amount is not None else "amount not given"
            out += wrapped(f"- {p.name}: {amount}" + (f" ({p.note})" if p.note else ""), 14)
        if b.remaining is not None:
            out += _line("remaining", money(b.remaining, b.currency))
    if r.summary:
        out += ["", *wrapped(r.summary)]
    out += ["", "Dates", "-----"]
    for o in d.occurrences:
        moved = f" (moved from {o.original:%Y-%m-%d %H:%M})" if isinstance(o.original, datetime) \
            else f" (moved from {o.original})" if o.original else ""
        when = o.when_label()
        if isinstance(o.start, datetime) and o.timezone != str(reader.tzinfo):
            when += f" = {_local(o, reader)}"
        out += wrapped(f"{when}  {status_cell(o)}  {o.title}{moved}")
        out += wrapped(f"how we know: {evidence.words(o)}", 4)
        if o.note:
            out += wrapped(o.note, 4)
    if d.amendments:
        out += ["", "Amendments", "----------"]
        for a in d.amendments:
            target = a.cutoff.isoformat() if a.cutoff else a.milestone or ""
            to = f" -> {a.to.key() if hasattr(a.to, 'key') else a.to}" if a.to else ""
            cited = r.cite(a.source)
            src = f" [{cited.title}]" if cited else ""
            out += wrapped(f"{a.announced}  {a.action.value} {target}{to}{src}"
                           + (f" — {a.note}" if a.note else ""))
    if r.sources:
        out += ["", "Sources", "-------"]
        for s in r.sources.values():
            tag = " (secondary)" if s.secondary else ""
            out += wrapped(f"{s.title}{tag}" + (f" — {s.url}" if s.url else ""))
    return "\n".join(out)


def changes_table(items: Sequence[Change], reader: datetime,
                  titles: dict[str, tuple[str, str]]) -> str:
    """The `tracker changes` table: the day it became known, what, old -> new, source."""
    if not items:
        return "No changes recorded in that period."
    rows = []
    for c in items:
        day = c.known_on.isoformat() if c.known_on else ""
        title, zone = titles.get(c.entity_id, (c.entity_id, ""))
        what = history.describe(c, zone or str(reader.tzinfo))
        item = "" if c.change is ChangeKind.BASELINE else title
        source = c.source or ("" if c.announced or c.change is ChangeKind.BASELINE
                              else "rule files")
        rows.append((day, c.change.value, item, what, source))
    return table([(d, k, f"{i}: {w}" if i else w, s) for d, k, i, w, s in rows],
                 ("KNOWN ON", "CHANGE", "WHAT", "SOURCE"), wrap=2, optional=(3,))


def change_record(c: Change, reader: datetime,
                  titles: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """The JSON form of one change."""
    title, zone = titles.get(c.entity_id, ("", ""))
    return {"known_on": c.known_on.isoformat() if c.known_on else None,
            "announced": c.announced.isoformat() if c.announced else None,
            "recorded_at": c.detected_at.isoformat() if c.detected_at else None,
            "change": c.change.value, "item": c.entity_id, "call": c.call_id,
            "title": title, "field": c.field, "old": c.old,
            "new": c.new, "what": history.describe(c, zone or str(reader.tzinfo)),
            "source": c.source, "source_url": c.source_url}


def subscription_line(s: Subscription) -> str:
    """One line describing a subscription."""
    follows = []
    if s.calls:
        follows.append("calls " + ", ".join(s.calls))
    if s.tags:
        follows.append("tags " + ", ".join(s.tags))
    if s.kinds:
        follows.append("kinds " + ", ".join(k.value for k in s.kinds))
    what = "; ".join(follows) or "everything"
    alerts = ", ".join(f"{a}d" for a in s.alerts) or "none"
    state = "" if s.active else " [unsubscribed]"
    return (f"{s.email}{state}: {s.every.value} at {s.at:%H:%M} {s.timezone}, "
            f"{s.horizon_days} days ahead, follows {what}; alerts {alerts}"
            + ("; empty digests too" if s.send_empty else ""))


def outbox_table(rows: Sequence[OutboxRow]) -> str:
    """Queued mail, newest first: subject, state, tries, and the last error in full."""
    return table([(str(r.id), r.state.value, str(r.attempts), r.recipient, r.subject,
                   r.last_error or "—") for r in rows],
                 ("ID", "STATE", "TRIES", "TO", "SUBJECT", "LAST ERROR"), styled=1)


def status_text(s: StatusReport) -> str:
    """`tracker status`."""
    def ago(moment: datetime) -> str:
        minutes = int((s.now - moment).total_seconds() // 60)
        return f"{moment:%Y-%m-%d %H:%M:%S}Z ({minutes} min ago)" if minutes >= 0 else \
            f"{moment:%Y-%m-%d %H:%M:%S}Z"

    lines = [f"database:   {s.database}",
             f"last sync:  {ago(s.last_sync) if s.last_sync else 'never'}",
             f"scheduler:  {'running' if s.scheduler_running else 'not running'}"]
    beat = s.state.get(HEARTBEAT)
    if beat:
        lines.append(f"heartbeat:  {ago(beat[1])}")
    nexts = Fact.NEXT.values(s.state)
    planned = sorted((job, at) for job, at in nexts.items() if at)
    if planned and s.scheduler_running:
        lines.append("next runs:  " + ", ".join(f"{k} {v[:19]}Z" for k, v in planned))
    lines.append("outbox:     " + ", ".join(f"{k.value} {v}" for k, v in s.outbox.items()))
    for job, err in sorted(Fact.ERROR.values(s.state).items()):
        if err:
            lines.append(f"job error:  {job}: {err}")
    for source, outcome in sorted(Fact.IMPORT.values(s.state).items()):
        nxt = nexts.get(import_job(source), "")
        lines.append(f"import:     {source}: {outcome}" + (f" (next {nxt[:16]}Z)" if nxt else ""))
    if s.orphaned:
        lines.append(f"kept:       {len(s.orphaned)} call(s) have no rule file any more "
                     f"({', '.join(s.orphaned[:5])}); 'tracker sync --prune' withdraws them")
    for who, err in s.recent_errors:
        lines.append(f"mail error: {who}: {err}")
    return "\n".join(lines)
