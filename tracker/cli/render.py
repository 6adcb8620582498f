"""Generic rendering for the terminal: tables that fit its width (colour only on a terminal,
NO_COLOR respected), JSON and CSV. Returns text; the commands print it."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
import textwrap
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from tracker import evidence
from tracker.models import Occurrence
from tracker.usecases import days_left

FIELDS = ("id", "call", "kind", "title", "start", "end", "timezone", "local_start", "status",
          "tentative", "precision", "when", "days_left", "moved_from", "url", "source",
          "source_url", "evidence", "time", "known", "note", "tags")
STYLES = {"overdue": "bold red", "cancelled": "dim", "passed": "dim", "tentative": "yellow",
          "confirmed": "green", "moved": "cyan", "open": "green", "closed": "dim",
          "forthcoming": "cyan", "failed": "bold red", "pending": "yellow", "sent": "green"}


def width() -> int:
    """The terminal's width (COLUMNS wins); unlimited when output goes to a pipe or a file."""
    if "COLUMNS" not in os.environ and not sys.stdout.isatty():
        return 100_000
    return shutil.get_terminal_size((100, 24)).columns


def colour() -> bool:
    """Colour only on a terminal, and never with NO_COLOR set."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


ANSI = {"bold red": "\x1b[1;31m", "dim": "\x1b[2m", "yellow": "\x1b[33m",
        "green": "\x1b[32m", "cyan": "\x1b[36m", "bold": "\x1b[1m"}
RESET = "\x1b[0m"


def _paint(text: str, style: str) -> str:
    return f"{ANSI[style]}{text}{RESET}" if style in ANSI else text


def table(rows: Sequence[Sequence[str]], header: Sequence[str], wrap: int = -1,
          styled: int | None = None, optional: Sequence[int] = ()) -> str:
    """Columns that fit the terminal: column `wrap` (default: the last) is folded onto more
    lines, the others are never cut; the `optional` columns are dropped, in order, when the
    terminal is too narrow. Column `styled` is coloured by its value on a terminal."""
    last = wrap % len(header)
    keep = list(range(len(header)))
    room = width()

    def natural(i: int) -> int:
        return max(len(str(r[i])) for r in [header, *rows])

    for drop in [*optional, None]:
        fixed = sum(natural(i) for i in keep if i != last) + 2 * (len(keep) - 1)
        if room - fixed >= 24 or drop is None:
            break
        keep.remove(drop)
    space = max(room - fixed, 16)
    widths = {i: natural(i) for i in keep if i != last}
    tty = colour()
    out = []
    for n, r in enumerate([header, *rows]):
        folded = textwrap.wrap(str(r[last]), space) or [""]
        cells = []
        for i in keep:
            if i == last:
                final = i == keep[-1]
                cells.append(folded[0] if final else folded[0].ljust(min(space, natural(i))))
                continue
            cell = str(r[i]).ljust(widths[i])
            if tty and n == 0:
                cell = _paint(cell, "bold")
            elif tty and i == styled:
                cell = _paint(cell, STYLES.get(str(r[i]).split(" ")[0], ""))
            cells.append(cell)
        out.append("  ".join(cells).rstrip())
        pad = sum(widths[i] + 2 for i in keep if i < last)
        out += [(" " * pad + more).rstrip() for more in folded[1:]]
    return "\n".join(out)


def wrapped(text: str, indent: int = 0) -> list[str]:
    """Prose folded to the terminal's width, each line indented."""
    room = width()
    if room > 1000:
        return [" " * indent + text]
    return textwrap.wrap(text, max(40, room - indent), initial_indent=" " * indent,
                         subsequent_indent=" " * indent) or [""]


def _iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def record(o: Occurrence, reader: datetime) -> dict[str, Any]:
    """The JSON/CSV form of one occurrence, as seen by a reader at `reader` (zone-aware now)."""
    local = o.start.astimezone(reader.tzinfo) if isinstance(o.start, datetime) else None
    return {
        "id": o.id, "call": o.call_id, "kind": o.kind.value, "title": o.title,
        "start": o.start.isoformat(), "end": _iso(o.end), "timezone": o.timezone,
        "local_start": _iso(local), "status": o.status.value, "tentative": o.tentative,
        "precision": o.precision.value, "when": o.when_label(),
        "days_left": days_left(o, reader), "moved_from": _iso(o.original), "url": o.url,
        "source": o.source, "source_url": o.source_url, "evidence": o.evidence.value,
        "time": o.time_basis.value if o.time_basis else None, "known": evidence.words(o),
        "note": o.note, "tags": list(o.tags),
    }


def as_json(value: Any) -> str:
    """Readable JSON (dates as ISO text): a list has one item per line (which the C encoder
    writes: tens of thousands of items in a fraction of a second), anything else is indented."""
    if isinstance(value, list) and value:
        return "[\n" + ",\n".join("  " + json.dumps(v, ensure_ascii=False, default=str)
                                  for v in value) + "\n]"
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


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
