"""Reading values out of a parsed TOML table while collecting every problem, with hints."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any, TypeVar

from tracker.errors import Problem
from tracker.models import FuzzyDate, Precision
from tracker.rules.lines import line_index

MULTILINE = {"summary", "note"}
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # tab and newline are fine in prose
MAX_AMOUNT = 10**15  # a quadrillion: beyond any budget, inside every database integer
FIRST_YEAR, LAST_YEAR = 1900, 2199
_D = TypeVar("_D", date, datetime)
SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")  # ids and tags: columns, file names, URLs
MAX_SLUG = 100
MAX_LINE = 500  # a title, a label, a programme: one line of a listing or a Subject header
MAX_PROSE = 10_000  # a summary or a note
MAX_NAME = 200  # an identifier or a programme (a programme's name is a feed's file name)
PERIOD = re.compile(r"^\s*(\d+)\s*(day|week|month)s?\s*$")
FUZZY = re.compile(r"^(\d{4})(?:-(?:(\d{2})|[Qq]([1-4])))?$")
DATE_FORMS = "a TOML date such as 2026-03-04, or a string \"2026-03\", \"2026-Q1\" or \"2026\""


@dataclass
class Checker:
    """Collects problems for one file while reading its values."""

    path: str
    source: str  # the file's text: lines are looked up only when a problem is found
    problems: list[Problem] = field(default_factory=list)
    override_path: str = ""  # an override file merged over this one, if any
    override_source: str = ""

    @cached_property
    def index(self) -> dict[str, int]:
        """Key paths to line numbers in the file."""
        return line_index(self.source)

    @cached_property
    def override_index(self) -> dict[str, int]:
        """Key paths to line numbers in the override file."""
        return line_index(self.override_source)

    def line(self, key: str, index: dict[str, int] | None = None) -> int | None:
        """The line of `key`, or of the nearest enclosing table that has one."""
        index = self.index if index is None else index
        probe = key
        while probe:
            if probe in index:
                return index[probe]
            probe = re.sub(r"(\[\d+\]|\.[^.\[]+)$", "", probe) if ("." in probe or "[" in probe) \
                else ""
        return None

    def error(self, key: str, message: str, hint: str = "", warning: bool = False) -> None:
        """Record a problem at `key` (in the override file when the key comes from there)."""
        if self.override_path and key in self.override_index:
            self.problems.append(Problem(self.override_path, self.override_index[key], key,
                                         message, hint, warning))
            return
        self.problems.append(Problem(self.path, self.line(key), key, message, hint, warning))

    def warn(self, key: str, message: str, hint: str = "") -> None:
        """Record a warning: the rule stays usable."""
        self.error(key, message, hint, warning=True)

    def keys(self, table: dict[str, Any], where: str, allowed: set[str],
             required: Iterable[str] = ()) -> None:
        for key in table:
            if key not in allowed:
                near = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
                hint = f"did you mean '{near[0]}'?" if near else \
                    f"allowed keys here: {', '.join(sorted(allowed))}"
                self.error(join(where, key), f"unknown key '{key}'", hint)
        for key in required:
            if key not in table:
                self.error(where or key, f"missing required key '{key}'",
                           f"add {key} = ... {'under [' + where + ']' if where else 'at the top'}")

    def text(self, table: dict[str, Any], key: str, where: str, default: str = "") -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            self.error(join(where, key), f"'{key}' must be a string, got {tname(value)}",
                       f'write it in quotes: {key} = "..."')
            return default
        if CONTROL.search(value):
            self.error(join(where, key), f"'{key}' holds a control character "
                       f"({CONTROL.search(value).group()!r})",  # type: ignore[union-attr]
                       "remove it: feeds, mail headers and databases cannot carry it")
            return default
        limit = MAX_PROSE if key in MULTILINE else MAX_LINE
        if len(value) > limit:
            self.error(join(where, key), f"'{key}' is {len(value):,} characters long",
                       f"keep it under {limit:,} characters")
            return default
        if key in MULTILINE:
            return value.strip()
        return " ".join(value.split())  # a title or label is one line, whatever the TOML

    def link(self, table: dict[str, Any], key: str, where: str) -> str:
        """An http(s) URL or nothing: a link is clicked from pages and mail."""
        url = self.text(table, key, where)
        if url and (not re.match(r"^https?://[^\s/]+", url) or any(c in url for c in "<>\"")):
            self.error(join(where, key), f"'{key}' must be an http:// or https:// address, "
                       f"got {url[:40]!r}", "write the full address, e.g. https://example.org/call")
            return ""
        return url

    def instant(self, table: dict[str, Any], key: str, where: str) -> datetime | None:
        """A TOML date-time with an offset (e.g. 2026-11-25T10:00:00Z), if given."""
        if key not in table:
            return None
        value = table[key]
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value if self.in_range(value, join(where, key)) else None
        self.error(join(where, key), f"'{key}' must be a date-time with its offset, got "
                   f"{value!r}", f"write {key} = 2026-11-25T10:00:00Z (no quotes)")
        return None

    def texts(self, table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(join(where, key), f"'{key}' must be a list of strings",
                       f'write {key} = ["first", "second"]')
            return ()
        if any(CONTROL.search(v) for v in value):
            self.error(join(where, key), f"'{key}' holds a control character",
                       "remove it: feeds, mail headers and databases cannot carry it")
            return ()
        if any(len(v) > MAX_NAME for v in value):
            self.error(join(where, key), f"an entry of '{key}' is longer than {MAX_NAME} "
                       "characters", "keep each one to a name or an identifier")
            return ()
        return tuple(" ".join(v.split()) for v in value)

    def boolean(self, table: dict[str, Any], key: str, where: str) -> bool:
        value = table.get(key, False)
        if not isinstance(value, bool):
            self.error(join(where, key), f"'{key}' must be true or false, got {tname(value)}",
                       f"write {key} = true (no quotes)")
            return False
        return value

    def day(self, table: dict[str, Any], key: str, where: str, required: bool = False) \
            -> date | None:
        if key not in table:
            if required:
                self.error(where or key, f"missing required date '{key}'",
                           f"add {key} = 2025-01-31 (a TOML date, no quotes)")
            return None
        return self.as_day(table[key], join(where, key))

    def as_day(self, value: Any, where: str) -> date | None:
        if isinstance(value, datetime):
            self.error(where, "expected a date, got a date and time",
                       "drop the time part: the call's deadline_time applies")
            return None
        if isinstance(value, date):
            return self.in_range(value, where)
        if isinstance(value, str):
            try:
                return self.in_range(date.fromisoformat(value.strip()), where)
            except ValueError:
                pass
        self.error(where, f"expected a date, got {tname(value)} {value!r}",
                   "write a TOML date such as 2025-01-31 (no quotes)")
        return None

    def moment(self, value: Any, where: str) -> date | datetime | None:
        """A date, or a local/offset date-time (for a cut-off at another hour)."""
        if isinstance(value, date):  # datetime is a date too
            day = value.date() if isinstance(value, datetime) else value
            return value if self.in_range(day, where) else None
        self.error(where, f"expected a date or a date-time, got {tname(value)} {value!r}",
                   "write 2025-01-31 or 2025-01-31T12:00:00 (no quotes)")
        return None

    def amount(self, table: dict[str, Any], key: str, where: str) -> int | None:
        if key not in table:
            return None
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value \
                or value in (float("inf"), float("-inf")):
            self.error(join(where, key), f"'{key}' must be a number, got {value!r}",
                       f"write {key} = 1_000_000 (no quotes, no currency sign)")
            return None
        if value > MAX_AMOUNT:
            self.error(join(where, key), f"'{key}' is too large ({value:.3g})",
                       f"amounts go up to {MAX_AMOUNT:,}; check the number of zeros")
            return None
        if value < 0:
            self.error(join(where, key), f"'{key}' is negative ({value})",
                       "budgets and amounts are zero or more")
            return None
        return int(value)

    def in_range(self, day: _D, where: str) -> _D | None:
        """Dates from 1900 to 2199: anything else is a typo, and would overflow later."""
        if FIRST_YEAR <= day.year <= LAST_YEAR:
            return day
        self.error(where, f"{day} is outside the years {FIRST_YEAR}-{LAST_YEAR}",
                   "check the year")
        return None

    def fuzzy(self, value: Any, where: str) -> FuzzyDate | None:
        found = self._fuzzy(value, where)
        if found is not None and self.in_range(found.first, where) is None:
            return None
        return found

    def _fuzzy(self, value: Any, where: str) -> FuzzyDate | None:
        if isinstance(value, datetime):
            return FuzzyDate(value.date(), Precision.DAY)
        if isinstance(value, date):
            return FuzzyDate(value, Precision.DAY)
        if isinstance(value, int) and not isinstance(value, bool) and 1900 < value < 3000:
            return FuzzyDate(date(value, 1, 1), Precision.YEAR)
        if isinstance(value, str):
            text = value.strip()
            m = FUZZY.match(text)
            if m and not 1 <= int(m.group(1)) <= 9999:  # year 0 is no date at all
                m = None
            if m:
                year, month, quarter = int(m.group(1)), m.group(2), m.group(3)
                if month and 1 <= int(month) <= 12:
                    return FuzzyDate(date(year, int(month), 1), Precision.MONTH)
                if quarter:
                    return FuzzyDate(date(year, 3 * int(quarter) - 2, 1), Precision.QUARTER)
                if not month:
                    return FuzzyDate(date(year, 1, 1), Precision.YEAR)
            try:
                return FuzzyDate(date.fromisoformat(text), Precision.DAY)
            except ValueError:
                pass
        self.error(where, f"{value!r} is not a date", f"write {DATE_FORMS}")
        return None

    def table(self, parent: dict[str, Any], key: str) -> dict[str, Any]:
        value = parent.get(key, {})
        if not isinstance(value, dict):
            self.error(key, f"'{key}' must be a table", f"start it with a line [{key}]")
            return {}
        return value

    def tables(self, parent: dict[str, Any], key: str, where: str = "") -> list[dict[str, Any]]:
        value = parent.get(key, [])
        path = join(where, key)
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.error(path, f"'{key}' must be a list of tables",
                       f"start each entry with a line [[{path}]]")
            return []
        return value


def join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def tname(value: Any) -> str:
    return {str: "a string", bool: "a boolean", int: "a number", float: "a number",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)

