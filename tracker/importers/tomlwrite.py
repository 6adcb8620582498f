"""A small deterministic TOML writer for the rule subset: sorted keys, one layout, same bytes."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def key(name: str) -> str:
    """A TOML key, quoted when it is not bare."""
    return name if BARE.match(name) else json.dumps(name, ensure_ascii=False)


def value(v: Any) -> str:
    """One TOML value written inline."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # JSON string escapes are valid TOML
    if isinstance(v, datetime):
        if v.tzinfo is not None:
            return v.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
        return v.isoformat(timespec="seconds")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, time):
        return v.isoformat(timespec="seconds")
    if isinstance(v, Mapping):
        inner = ", ".join(f"{key(k)} = {value(v[k])}" for k in sorted(v))
        return f"{{ {inner} }}" if inner else "{}"
    if isinstance(v, Sequence):
        items = [value(i) for i in v]
        if any(isinstance(i, Mapping) for i in v) or sum(map(len, items)) > 80:
            return "[\n" + "".join(f"  {i},\n" for i in items) + "]"
        return "[" + ", ".join(items) + "]"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _is_table_list(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(i, Mapping) for i in v)


def _body(table: Mapping[str, Any], path: str, inline_lists: set[str]) -> list[str]:
    lines: list[str] = []
    nested: list[str] = []
    for k in sorted(table):
        v = table[k]
        full = f"{path}.{k}" if path else k
        if v is None:
            continue
        if (isinstance(v, Mapping) or _is_table_list(v)) and full not in inline_lists:
            nested.append(k)
        else:
            lines.append(f"{key(k)} = {value(v)}")
    for k in nested:
        v = table[k]
        full = f"{path}.{k}" if path else k
        if isinstance(v, Mapping):
            lines += ["", f"[{full}]", *_body(v, full, inline_lists)]
        else:
            for item in v:
                lines += ["", f"[[{full}]]", *_body(item, full, inline_lists)]
    return lines


def dumps(doc: Mapping[str, Any], header: Sequence[str] = (), inline: set[str] | None = None) \
        -> str:
    """The document as TOML text; `inline` names the dotted keys whose tables stay inline."""
    lines = [f"# {h}" if h else "#" for h in header]
    if lines:
        lines.append("")
    body = _body(doc, "", inline or set())
    while body and body[0] == "":
        body.pop(0)
    return "\n".join(lines + body) + "\n"
