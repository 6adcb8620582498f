"""A call's timeline as SVG, drawn on the server: pure, from occurrences and `now` (no I/O).

Cut-offs are drawn by what is known of them: confirmed (filled dot), tentative (hollow, dashed
ring), moved (hollow dot with a dotted line from where it was first scheduled), cancelled (a
cross). Openings and closings are flags above the axis, milestones diamonds below it, today a
red line. The picture carries a <title>/<desc>, and `text` gives the same facts as a list for
screen readers and for mail clients that show no SVG.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape

from tracker.models import Kind, Occurrence, Status

WIDTH = 760
HEIGHT = 150
LEFT, RIGHT = 24, 24
AXIS_Y = 78


@dataclass(frozen=True)
class Mark:
    """One drawn item, in words: what the text equivalent lists."""

    day: date
    kind: Kind
    drawn: str  # confirmed | tentative | moved | cancelled | opening | closing | milestone
    label: str


@dataclass(frozen=True)
class Timeline:
    """The SVG markup (safe to embed: every text is escaped) and its text equivalent."""

    svg: str
    marks: list[Mark]

    @property
    def text(self) -> list[str]:
        """One line per mark, in date order: '2025-02-01 cut-off (moved): ...'."""
        return [f"{m.day.isoformat()} {m.kind.value if m.kind is not Kind.CUTOFF else 'cut-off'}"
                f" ({m.drawn}): {m.label}" for m in self.marks]


def drawn_as(o: Occurrence) -> str:
    """How a cut-off is drawn: by what is known of it, whether or not it has passed."""
    if o.kind is not Kind.CUTOFF:
        return o.kind.value
    standing = o.standing
    if standing is Status.CANCELLED:
        return "cancelled"
    if standing is Status.MOVED or o.original is not None:
        return "moved"
    if standing is Status.TENTATIVE or o.tentative:
        return "tentative"
    return "confirmed"


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _months(first: date, last: date) -> list[date]:
    out = []
    day = first.replace(day=1)
    while day <= last:
        out.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return out


def timeline(items: Sequence[Occurrence], now: datetime, title: str = "Timeline") -> Timeline:
    """The picture of these occurrences (one call's, usually) as of `now`."""
    today = now.astimezone(items[0].instant.tzinfo).date() if items else now.date()
    days = [_day(o.start) for o in items] + [_day(o.original) for o in items
                                              if o.original is not None] + [today]
    first, last = min(days) - timedelta(days=20), max(days) + timedelta(days=20)
    span = max((last - first).days, 1)

    def x(day: date) -> float:
        return round(LEFT + (WIDTH - LEFT - RIGHT) * (day - first).days / span, 1)

    parts: list[str] = []
    marks: list[Mark] = []
    parts.append(f'<line class="axis" x1="{LEFT}" y1="{AXIS_Y}" x2="{WIDTH - RIGHT}" '
                 f'y2="{AXIS_Y}" stroke="#555" stroke-width="1.5"/>')
    months = _months(first, last)
    step = max(1, len(months) // 12)
    for i, month in enumerate(months):
        if month < first:
            continue
        mx = x(month)
        parts.append(f'<line x1="{mx}" y1="{AXIS_Y - 4}" x2="{mx}" y2="{AXIS_Y + 4}" '
                     'stroke="#777"/>')
        if i % step == 0:
            year = month.month == 1
            label = str(month.year) if year else month.strftime("%b")
            bold = ' font-weight="700"' if year else ""
            parts.append(f'<text x="{mx}" y="{HEIGHT - 6}" font-size="11" fill="#374151" '
                         f'text-anchor="middle"{bold}>{escape(label)}</text>')
    for o in sorted(items, key=lambda o: (o.instant, o.id)):
        day = _day(o.start)
        drawn = drawn_as(o)
        px = x(day)
        label = f"{o.title}, {o.when_label()}"
        if o.original is not None:
            label += f" (first scheduled {_day(o.original).isoformat()})"
        marks.append(Mark(day, o.kind, drawn, label))
        past = " past" if _day(o.start) < today else ""
        tip = f"<title>{escape(label)} — {escape(drawn)}</title>"
        attrs = (f'class="mark {o.kind.value} {drawn}{past}" data-kind="{o.kind.value}" '
                 f'data-status="{drawn}" data-day="{day.isoformat()}"')
        if o.kind is Kind.CUTOFF:
            if drawn == "moved" and o.original is not None:
                ox = x(_day(o.original))
                parts.append(f'<line x1="{ox}" y1="{AXIS_Y}" x2="{px}" y2="{AXIS_Y - 0}" '
                             'stroke="#b45309" stroke-width="2" stroke-dasharray="2 3"/>')
                parts.append(f'<circle cx="{ox}" cy="{AXIS_Y}" r="3" fill="#b45309" '
                             'opacity=".5"/>')
            if drawn == "confirmed":
                shape = f'<circle cx="{px}" cy="{AXIS_Y}" r="7" fill="#1d4ed8"/>'
            elif drawn == "tentative":
                shape = (f'<circle cx="{px}" cy="{AXIS_Y}" r="7" fill="#fff" stroke="#1d4ed8" '
                         'stroke-width="2" stroke-dasharray="3 2"/>')
            elif drawn == "moved":
                shape = (f'<circle cx="{px}" cy="{AXIS_Y}" r="7" fill="#fff" stroke="#b45309" '
                         'stroke-width="3"/>')
            else:
                shape = (f'<path d="M{px - 6} {AXIS_Y - 6}l12 12M{px + 6} {AXIS_Y - 6}l-12 12" '
                         'stroke="#6b7280" stroke-width="3"/>')
            shape += (f'<text x="{px}" y="{AXIS_Y - 14}" font-size="10" fill="#374151" '
                      f'text-anchor="middle">{escape(f"{day.day} {day:%b}")}</text>')
        elif o.kind in (Kind.OPENING, Kind.CLOSING):
            colour = "#15803d" if o.kind is Kind.OPENING else "#b91c1c"
            flag = "l14 5l-14 5z" if o.kind is Kind.OPENING else "l-14 5l14 5z"
            shape = (f'<line x1="{px}" y1="{AXIS_Y}" x2="{px}" y2="{AXIS_Y - 40}" '
                     f'stroke="{colour}" stroke-width="2"/><path d="M{px} {AXIS_Y - 40}{flag}" '
                     f'fill="{colour}"/><text x="{px}" y="{AXIS_Y - 46}" font-size="11" '
                     f'fill="{colour}" text-anchor="middle">{escape(o.kind.value)}</text>')
        else:
            y = AXIS_Y + 26
            fill = "#fff" if o.tentative else "#7c3aed"
            shape = (f'<line x1="{px}" y1="{AXIS_Y}" x2="{px}" y2="{y - 7}" stroke="#7c3aed" '
                     f'stroke-dasharray="2 2"/><path d="M{px} {y - 7}l7 7l-7 7l-7 -7z" '
                     f'fill="{fill}" stroke="#7c3aed" stroke-width="2"/>')
        parts.append(f"<g {attrs}>{tip}{shape}</g>")
    tx = x(today)
    parts.append(f'<g class="today"><title>today, {today.isoformat()}</title>'
                 f'<line x1="{tx}" y1="14" x2="{tx}" y2="{AXIS_Y + 40}" stroke="#dc2626" '
                 f'stroke-width="2"/><text x="{tx}" y="11" font-size="11" fill="#dc2626" '
                 'text-anchor="middle">today</text></g>')
    summary = "; ".join(Timeline("", marks).text) or "no dates"
    svg = (f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} '
           f'{HEIGHT}" role="img" aria-labelledby="tl-title tl-desc" '
           f'preserveAspectRatio="xMidYMid meet">'
           f'<title id="tl-title">{escape(title)}</title>'
           f'<desc id="tl-desc">{escape(summary)}; today is {today.isoformat()}</desc>'
           + "".join(parts) + "</svg>")
    return Timeline(svg, marks)
