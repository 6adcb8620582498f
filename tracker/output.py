"""Render use-case results as text: tables, JSON, CSV. No I/O; the CLI prints what these return."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from tracker import history
from tracker.expand import at_deadline
from tracker.models import Occurrence, Subscription
from tracker.service import CallDetail, CallSummary, StatusReport, days_left
from tracker.store import Change
from tracker.store.mail import OutboxRow

FIELDS = ("id", "call", "kind", "title", "start", "end", "timezone", "local_start", "status",
          "tentative", "precision", "when", "days_left", "moved_from", "url", "source", "note",
          "tags")


def _iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def _local(o: Occurrence, reader: datetime) -> str:
    if isinstance(o.start, datetime):
        return o.start.astimezone(reader.tzinfo).strftime("%Y-%m-%d %H:%M %Z")
    return o.when_label()


def record(o: Occurrence, reader: datetime) -> dict[str, Any]:
    """The JSON/CSV form of one occurrence, as seen by a reader at `reader` (zone-aware now)."""
    local = o.start.astimezone(reader.tzinfo) if isinstance(o.start, datetime) else None
    return {
        "id": o.id,
        "call": o.call_id,
        "kind": o.kind.value,
        "title": o.title,
        "start": o.start.isoformat(),
        "end": _iso(o.end),
        "timezone": o.timezone,
        "local_start": _iso(local),
        "status": o.status.value,
        "tentative": o.tentative,
        "precision": o.precision.value,
        "when": o.when_label(),
        "days_left": days_left(o, reader),
        "moved_from": _iso(o.original),
        "url": o.url,
        "source": o.source,
        "note": o.note,
        "tags": list(o.tags),
    }


def as_json(items: Sequence[Occurrence], reader: datetime) -> str:
    """A JSON list of occurrence records."""
    return json.dumps([record(o, reader) for o in items], indent=2, ensure_ascii=False)


def as_csv(items: Sequence[Occurrence], reader: datetime) -> str:
    """CSV with a header row; tags joined by spaces."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for o in items:
        row = record(o, reader)
        row["tags"] = " ".join(row["tags"])
        writer.writerow(row)
    return buf.getvalue()


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """Left-aligned columns separated by two spaces; the last column is not padded."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for r in [header, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(r, widths, strict=False)] + [str(r[-1])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _left(o: Occurrence, reader: datetime) -> str:
    n = days_left(o, reader)
    if o.end is not None:  # a month, quarter or year: from its first to its last day
        last = (o.end - reader.date()).days
        if last < 0:
            return f"{-last}d ago"
        return f"≤{last}d" if n <= 0 else f"{n}-{last}d"
    if n == 0:
        return "today"
    return f"{n}d" if n > 0 else f"{-n}d ago"


def deadlines_table(items: Sequence[Occurrence], reader: datetime) -> str:
    """The `tracker deadlines` table: call's zone, reader's zone, days left, status."""
    if not items:
        return "Nothing upcoming matches. Try --all, a later --until, or fewer filters."
    zone = str(reader.tzinfo)
    rows = []
    for o in items:
        status = o.status.value
        if o.tentative and o.status.value != "tentative":
            status += " (tentative)"
        rows.append((o.when_label(), _local(o, reader), _left(o, reader), status, o.kind.value,
                     o.title))
    return table(rows, ("WHEN (CALL'S ZONE)", f"YOUR TIME ({zone})", "LEFT", "STATUS", "KIND",
                        "ITEM"))


def calls_table(items: Sequence[CallSummary], reader: datetime) -> str:
    """The `tracker calls` table."""
    rows = []
    for c in items:
        r = c.rule
        model = r.submission.value if r.submission else r.type.value
        nxt = c.next_cutoff.when_label() if c.next_cutoff else "—"
        if c.next_cutoff and c.next_cutoff.tentative:
            nxt += " (tentative)"
        budget = c.budget.label() if c.budget else "—"
        rows.append((r.id, c.state, model, nxt, budget, r.title))
    return table(rows, ("ID", "STATUS", "MODEL", "NEXT CUT-OFF", "BUDGET", "TITLE"))


def _line(label: str, value: object) -> str:
    return f"{label + ':':<14}{value}"


def detail(d: CallDetail, reader: datetime) -> str:
    """Everything about one call, for `tracker show`."""
    r = d.rule
    out = [r.title, "=" * len(r.title), _line("id", r.id)]
    if r.identifiers:
        out.append(_line("identifiers", ", ".join(r.identifiers)))
    for label, value in (("funder", r.funder), ("programmes", ", ".join(r.programmes)),
                         ("url", r.url), ("tags", ", ".join(r.tags))):
        if value:
            out.append(_line(label, value))
    out.append(_line("status", d.state))
    if r.submission:
        out.append(_line("submission", r.submission.value))
    if r.opens or r.closes:
        closes = at_deadline(r, d.closes).strftime("%Y-%m-%d %H:%M %Z") if d.closes else "—"
        if d.closes and r.closes and d.closes != r.closes:
            closes += f" (extended from {r.closes})"
        out.append(_line("open", f"{r.opens or '—'} to {closes}"))
    out.append(_line("deadlines", f"{r.deadline_time.strftime('%H:%M')} {r.timezone}"))
    if r.cutoffs.condition:
        out.append(_line("condition", r.cutoffs.condition))
    if d.budget:
        b = d.budget
        out.append(_line("budget", b.label() + (f" — {b.note}" if b.note else "")))
        for p in b.parts:
            amount = f"{b.currency} {p.amount:,}" if p.amount is not None else "amount not given"
            out.append(f"{'':14}- {p.name}: {amount}" + (f" ({p.note})" if p.note else ""))
        if b.remaining is not None:
            out.append(_line("remaining", f"{b.currency} {b.remaining:,}"))
    if r.summary:
        out += ["", r.summary]
    out += ["", "Dates", "-----"]
    for o in d.occurrences:
        extra = f"  (moved from {o.original:%Y-%m-%d %H:%M})" if isinstance(o.original, datetime) \
            else f"  (moved from {o.original})" if o.original else ""
        flag = " (tentative)" if o.tentative else ""
        out.append(f"{o.when_label():<26}{o.status.value + flag:<22}{o.title}{extra}")
        if o.note:
            out.append(f"{'':26}{o.note}")
    if d.amendments:
        out += ["", "Amendments", "----------"]
        for a in d.amendments:
            target = a.cutoff.isoformat() if a.cutoff else a.milestone or ""
            to = f" -> {a.to.key() if hasattr(a.to, 'key') else a.to}" if a.to else ""
            src = f" [{a.source}]" if a.source else ""
            out.append(f"{a.announced}  {a.action.value} {target}{to}{src}"
                       + (f" — {a.note}" if a.note else ""))
    if r.sources:
        out += ["", "Sources", "-------"]
        for s in r.sources.values():
            tag = " (secondary)" if s.secondary else ""
            out.append(f"[{s.key}] {s.title}{tag}" + (f" — {s.url}" if s.url else ""))
    return "\n".join(out)


def _value(text: str, reader: datetime) -> str:
    if "T" in text and text[:4].isdigit():
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
        return moment.strftime("%Y-%m-%d %H:%M %z")
    return text


def changes_table(items: Sequence[Change], reader: datetime) -> str:
    """The `tracker changes` table: when detected, what, old -> new."""
    if not items:
        return "No changes recorded in that period."
    rows = []
    for c in items:
        if c.field == "moved_from":
            continue  # implied by the 'date' line of the same move
        when = c.detected_at.astimezone(reader.tzinfo).strftime("%Y-%m-%d %H:%M") \
            if c.detected_at else ""
        what = history.FIELD_LABELS.get(c.field, c.field.replace("_", " "))
        if c.change in ("added", "withdrawn", "restored"):
            detail = c.new
        else:
            detail = f"{what}: {_value(c.old, reader) or '—'} -> {_value(c.new, reader) or '—'}"
        rows.append((when, c.change, c.entity_id, detail))
    return table(rows, ("DETECTED", "CHANGE", "ITEM", "DETAIL"))


def subscription_line(s: Subscription) -> str:
    """One line describing a subscription."""
    follows = []
    if s.calls:
        follows.append("calls " + ", ".join(s.calls))
    if s.tags:
        follows.append("tags " + ", ".join(s.tags))
    if s.kinds:
        follows.append("kinds " + ", ".join(s.kinds))
    what = "; ".join(follows) or "everything"
    alerts = ", ".join(f"{a}d" for a in s.alerts) or "none"
    state = "" if s.active else " [unsubscribed]"
    return (f"{s.email}{state}: {s.every.value} at {s.at:%H:%M} {s.timezone}, "
            f"{s.horizon_days} days ahead, follows {what}; alerts {alerts}"
            + ("; empty digests too" if s.send_empty else ""))


def outbox_table(rows: Sequence[OutboxRow]) -> str:
    """Queued mail, newest first."""
    return table([(str(r.id), r.state, str(r.attempts), r.recipient, r.key,
                   r.last_error[:60]) for r in rows],
                 ("ID", "STATE", "TRIES", "TO", "WHAT", "LAST ERROR"))


def status_text(s: StatusReport) -> str:
    """`tracker status`."""
    def ago(moment: datetime) -> str:
        minutes = int((s.now - moment).total_seconds() // 60)
        return f"{moment:%Y-%m-%d %H:%M:%S}Z ({minutes} min ago)" if minutes >= 0 else \
            f"{moment:%Y-%m-%d %H:%M:%S}Z"

    lines = [f"database:   {s.database}",
             f"last sync:  {ago(s.last_sync) if s.last_sync else 'never'}",
             f"scheduler:  {'running' if s.scheduler_running else 'not running'}"]
    beat = s.state.get("heartbeat")
    if beat:
        lines.append(f"heartbeat:  {ago(beat[1])}")
    nexts = sorted((k.removeprefix("next."), v) for k, (v, _) in s.state.items()
                   if k.startswith("next.") and v)
    if nexts and s.scheduler_running:
        lines.append("next runs:  " + ", ".join(f"{k} {v[:19]}Z" for k, v in nexts))
    lines.append("outbox:     " + ", ".join(f"{k} {v}" for k, v in s.outbox.items()))
    job_errors = [(k.removeprefix("error."), v) for k, (v, _) in s.state.items()
                  if k.startswith("error.") and v]
    for job, err in job_errors:
        lines.append(f"job error:  {job}: {err}")
    for who, err in s.recent_errors:
        lines.append(f"mail error: {who}: {err[:100]}")
    return "\n".join(lines)
