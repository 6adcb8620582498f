"""Test helpers: where the test rule files live, how to load them, where keys sit in them."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from tracker.models import Occurrence, Rule
from tracker.rules import parse_rule

DATA = Path(__file__).parent / "data"
BRUSSELS = ZoneInfo("Europe/Brussels")
GOOD_FILES = ("recurring_tentative.toml", "single.toml", "two_stage.toml", "business_days.toml")


# The AI Factories call's cut-offs (tests/data/recurring_tentative.toml): every three months
# from 4 Nov 2024 to the end of 2025 while funds last, the first confirmed. Rule texts built in
# the tests put it after their own keys; lines added right after it stay in [cutoffs].
ROLLING_CUTOFFS = """\
[cutoffs]
first = 2024-11-04
every = "3 months"
until = 2025-12-31
condition = "as long as funds are available"
confirmed = [2024-11-04]
"""



def amendment(action: str, **fields: str | date) -> str:
    """An [[amendments]] table to append to a rule text: `action`, then each field in the
    order given (a date as TOML writes it, text in quotes)."""
    lines = ["", "[[amendments]]", f"action = {json.dumps(action)}"]
    lines += [f"{key} = {value if isinstance(value, date) else json.dumps(value)}"
              for key, value in fields.items()]
    return "\n".join(lines) + "\n"


# The May 2025 cut-off of that call, cancelled on 1 March 2025.
CANCEL_MAY = amendment("cancel", announced=date(2025, 3, 1), cutoff=date(2025, 5, 4),
                       note="budget exhausted")


def rule_folder(folder: Path, **rules: str) -> Path:
    """`folder` (created) holding one NAME.toml file per keyword argument NAME=text."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in rules.items():
        (folder / f"{name}.toml").write_text(text, encoding="utf-8")
    return folder


def data_text(name: str) -> str:
    """The text of a file in tests/data."""
    return (DATA / name).read_text(encoding="utf-8")


def parse_ok(text: str, path: str = "test.toml") -> Rule:
    """Parse rule text that must be valid; fail with every problem otherwise."""
    rule, problems = parse_rule(text, path)
    errors = [p for p in problems if not p.warning]
    assert not errors, "\n".join(str(p) for p in errors)
    assert rule is not None
    return rule


def load(name: str) -> Rule:
    """A valid rule from tests/data."""
    return parse_ok(data_text(name), str(DATA / name))


def line_of(text: str, key: str, after: str | None = None, nth: int = 1) -> int:
    """1-based line of the first `key = ...` line after the nth line matching `after`, if given."""
    lines = text.splitlines()
    start = 0
    if after is not None:
        headers = [i for i, line in enumerate(lines) if re.match(after, line.strip())]
        start = headers[nth - 1] + 1
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for i in range(start, len(lines)):
        if pattern.match(lines[i]):
            return i + 1
    raise AssertionError(f"no line '{key} = ...' in the text")


def at(day: date, hour: int = 0, minute: int = 0, zone: ZoneInfo = BRUSSELS) -> datetime:
    """An aware moment in a zone (Brussels by default)."""
    return datetime.combine(day, time(hour, minute), zone)


def by_id(items: list[Occurrence]) -> dict[str, Occurrence]:
    """Occurrences keyed by id (ids must be unique)."""
    out = {o.id: o for o in items}
    assert len(out) == len(items), "duplicate occurrence ids"
    return out
