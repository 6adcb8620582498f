"""Where each key sits in a rule file: key paths to line numbers, for problems with lines."""

from __future__ import annotations

import re
from collections.abc import Sequence


def _dotted(parts: Sequence[str]) -> str:
    return ".".join(p.strip().strip('"').strip("'") for p in parts)


def line_index(text: str) -> dict[str, int]:
    """Map key paths ('cutoffs.every', 'milestones[2].date') to 1-based line numbers."""
    index: dict[str, int] = {}
    counts: dict[str, int] = {}
    table = ""
    in_multiline: str | None = None
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith("[["):
            name = _dotted(line[2:line.index("]]")].split("."))
            counts[name] = counts.get(name, -1) + 1
            table = f"{name}[{counts[name]}]"
            index.setdefault(name, no)
            index[table] = no
            continue
        if line.startswith("["):
            name = _dotted(line[1:line.index("]")].split("."))
            # a sub-table of the latest array element: [budget.parts] after [[budget]] is rare
            table = name
            index[table] = no
            continue
        m = re.match(r"^([A-Za-z0-9_\-\"'. ]+?)\s*=", line)
        if m:
            key = _dotted(m.group(1).split("."))
            path = f"{table}.{key}" if table else key
            index.setdefault(path, no)
            for quote in ('"""', "'''"):
                if line.count(quote) % 2 == 1:
                    in_multiline = quote
    return index

