"""Parse and validate call-rule files (TOML) into `Rule` objects, reporting every problem."""

from __future__ import annotations

import contextlib
import difflib
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from tracker.errors import Problem, RuleError
from tracker.expand import (
    MAX_RECURRENCES,
    find_slot,
    latest_closes,
    recurrence_dates,
    schedule,
)
from tracker.models import (
    Action,
    Amendment,
    Budget,
    BudgetPart,
    BusinessDays,
    CutoffDate,
    Cutoffs,
    FuzzyDate,
    Milestone,
    Precision,
    Recurrence,
    Rule,
    RuleType,
    Source,
    Submission,
)

TOP_KEYS = {
    "id", "type", "title", "identifiers", "funder", "programmes", "url", "tags", "summary",
    "timezone", "deadline_time", "opens", "closes", "submission", "cutoffs", "budget",
    "amendments", "milestones", "sources", "source",
}
CUTOFF_KEYS = {"dates", "first", "every", "until", "count", "condition", "confirmed",
               "business_days", "holidays"}
DATE_ITEM_KEYS = {"date", "key", "label", "tentative"}
BUDGET_KEYS = {"amount", "currency", "approximate", "parts", "remaining", "note", "source"}
PART_KEYS = {"name", "amount", "note"}
AMEND_KEYS = {"action", "announced", "cutoff", "milestone", "closing", "to", "date", "tentative",
              "amount", "remaining", "source", "note"}
MILESTONE_KEYS = {"id", "title", "date", "tentative", "announced", "source", "note", "url"}
SOURCE_KEYS = {"title", "url", "published", "secondary"}

MULTILINE = {"summary", "note"}
FIRST_YEAR, LAST_YEAR = 1900, 2199
_D = TypeVar("_D", date, datetime)
SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
PERIOD = re.compile(r"^\s*(\d+)\s*(day|week|month)s?\s*$")
FUZZY = re.compile(r"^(\d{4})(?:-(?:(\d{2})|[Qq]([1-4])))?$")
DATE_FORMS = "a TOML date such as 2026-03-04, or a string \"2026-03\", \"2026-Q1\" or \"2026\""


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


@dataclass
class _Checker:
    """Collects problems for one file while reading its values."""

    path: str
    index: dict[str, int]
    problems: list[Problem] = field(default_factory=list)

    def line(self, key: str) -> int | None:
        probe = key
        while probe:
            if probe in self.index:
                return self.index[probe]
            probe = re.sub(r"(\[\d+\]|\.[^.\[]+)$", "", probe) if ("." in probe or "[" in probe) \
                else ""
        return None

    def error(self, key: str, message: str, hint: str = "") -> None:
        self.problems.append(Problem(self.path, self.line(key), key, message, hint))

    def keys(self, table: dict[str, Any], where: str, allowed: set[str],
             required: Iterable[str] = ()) -> None:
        for key in table:
            if key not in allowed:
                near = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
                hint = f"did you mean '{near[0]}'?" if near else \
                    f"allowed keys here: {', '.join(sorted(allowed))}"
                self.error(_join(where, key), f"unknown key '{key}'", hint)
        for key in required:
            if key not in table:
                self.error(where or key, f"missing required key '{key}'",
                           f"add {key} = ... {'under [' + where + ']' if where else 'at the top'}")

    def text(self, table: dict[str, Any], key: str, where: str, default: str = "") -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            self.error(_join(where, key), f"'{key}' must be a string, got {_tname(value)}",
                       f'write it in quotes: {key} = "..."')
            return default
        if key in MULTILINE:
            return value.strip()
        return " ".join(value.split())  # a title or label is one line, whatever the TOML

    def texts(self, table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(_join(where, key), f"'{key}' must be a list of strings",
                       f'write {key} = ["first", "second"]')
            return ()
        return tuple(" ".join(v.split()) for v in value)

    def boolean(self, table: dict[str, Any], key: str, where: str) -> bool:
        value = table.get(key, False)
        if not isinstance(value, bool):
            self.error(_join(where, key), f"'{key}' must be true or false, got {_tname(value)}",
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
        return self.as_day(table[key], _join(where, key))

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
        self.error(where, f"expected a date, got {_tname(value)} {value!r}",
                   "write a TOML date such as 2025-01-31 (no quotes)")
        return None

    def moment(self, value: Any, where: str) -> date | datetime | None:
        """A date, or a local/offset date-time (for a cut-off at another hour)."""
        if isinstance(value, date):  # datetime is a date too
            day = value.date() if isinstance(value, datetime) else value
            return value if self.in_range(day, where) else None
        self.error(where, f"expected a date or a date-time, got {_tname(value)} {value!r}",
                   "write 2025-01-31 or 2025-01-31T12:00:00 (no quotes)")
        return None

    def amount(self, table: dict[str, Any], key: str, where: str) -> int | None:
        if key not in table:
            return None
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(_join(where, key), f"'{key}' must be a number, got {_tname(value)}",
                       f"write {key} = 1_000_000 (no quotes, no currency sign)")
            return None
        if value < 0:
            self.error(_join(where, key), f"'{key}' is negative ({value})",
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
        path = _join(where, key)
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.error(path, f"'{key}' must be a list of tables",
                       f"start each entry with a line [[{path}]]")
            return []
        return value


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _tname(value: Any) -> str:
    return {str: "a string", bool: "a boolean", int: "a number", float: "a number",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def _zone(c: _Checker, data: dict[str, Any]) -> str:
    name = c.text(data, "timezone", "", "Europe/Brussels")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        near = difflib.get_close_matches(name, sorted(available_timezones()), n=1, cutoff=0.6)
        hint = f"did you mean '{near[0]}'?" if near else "use an IANA name such as Europe/Brussels"
        c.error("timezone", f"unknown time zone '{name}'", hint)
        return "Europe/Brussels"
    return name


def _deadline_time(c: _Checker, data: dict[str, Any]) -> time:
    value = data.get("deadline_time", time(17, 0))
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = time.fromisoformat(value.strip())
    if not isinstance(value, time) or value.tzinfo is not None:
        c.error("deadline_time", f"deadline_time must be a local time, got {value!r}",
                "write deadline_time = 17:00:00 (no quotes; the zone comes from 'timezone')")
        return time(17, 0)
    return value


def _sources(c: _Checker, data: dict[str, Any]) -> dict[str, Source]:
    out: dict[str, Source] = {}
    for key, value in c.table(data, "sources").items():
        where = f"sources.{key}"
        if isinstance(value, str):
            out[key] = Source(key, value, value if value.startswith("http") else "")
            continue
        if not isinstance(value, dict):
            c.error(where, "a source must be a table or a string",
                    f'write {key} = {{ title = "...", url = "https://..." }}')
            continue
        c.keys(value, where, SOURCE_KEYS, required=("title",))
        out[key] = Source(key, c.text(value, "title", where), c.text(value, "url", where),
                          c.day(value, "published", where), c.boolean(value, "secondary", where))
    return out


def _source_ref(c: _Checker, table: dict[str, Any], where: str, sources: dict[str, Source]) -> str:
    ref = c.text(table, "source", where)
    if ref and not ref.startswith(("http://", "https://")) and ref not in sources:
        near = difflib.get_close_matches(ref, sorted(sources), n=1, cutoff=0.5)
        hint = f"did you mean '{near[0]}'?" if near else \
            "define it under [sources] or give a URL starting with https://"
        c.error(_join(where, "source"), f"unknown source '{ref}'", hint)
    return ref


def _cutoffs(c: _Checker, data: dict[str, Any]) -> Cutoffs:
    raw = c.table(data, "cutoffs")
    c.keys(raw, "cutoffs", CUTOFF_KEYS)
    dates: list[CutoffDate] = []
    value = raw.get("dates", [])
    if not isinstance(value, list):
        c.error("cutoffs.dates", "'dates' must be a list", "write dates = [2025-01-31, 2025-04-30]")
        value = []
    for i, item in enumerate(value):
        where = f"cutoffs.dates[{i}]"
        if isinstance(item, dict):
            c.keys(item, where, DATE_ITEM_KEYS, required=("date",))
            when = c.moment(item.get("date"), f"{where}.date") if "date" in item else None
            key = c.text(item, "key", where)
            if key and not SLUG.match(key):
                c.error(f"{where}.key", f"key '{key}' must be lower-case letters, digits, - _ .",
                        'e.g. key = "stage-1"')
            if when is not None:
                dates.append(CutoffDate(when, key, c.text(item, "label", where),
                                        c.boolean(item, "tentative", where)))
        else:
            when = c.moment(item, where)
            if when is not None:
                dates.append(CutoffDate(when))
    recurrence = None
    if "every" in raw or "first" in raw:
        every = raw.get("every")
        m = PERIOD.match(every) if isinstance(every, str) else None
        first = c.day(raw, "first", "cutoffs", required=True)
        until = c.day(raw, "until", "cutoffs")
        count = raw.get("count")
        if m is None:
            c.error("cutoffs.every", f"'every' must say how often, got {every!r}",
                    'write every = "3 months" (or "2 weeks", "10 days")')
        elif not 1 <= int(m.group(1)) <= 1000:
            c.error("cutoffs.every", f"the interval must be from 1 to 1000, got {m.group(1)}",
                    'e.g. every = "3 months"')
        if count is not None and (not isinstance(count, int) or isinstance(count, bool)
                                  or count < 1):
            c.error("cutoffs.count", f"count must be a whole number of at least 1, got {count!r}",
                    "e.g. count = 4")
            count = None
        if until is None and count is None:
            c.error("cutoffs.every", "this recurrence never ends",
                    "add until = <last possible date> (e.g. the closing date) or count = N")
        if first and until and until < first:
            c.error("cutoffs.until", f"until ({until}) is before first ({first})",
                    "until must be on or after the first cut-off")
        if m and first and 1 <= int(m.group(1)) <= 1000 and (until or count):
            recurrence = Recurrence(first, int(m.group(1)), m.group(2) + "s", until, count)
    elif "until" in raw or "count" in raw:
        c.error("cutoffs", "'until'/'count' given without a recurrence",
                'add first = <date> and every = "3 months", or remove them')
    business = c.text(raw, "business_days", "cutoffs", "stay")
    try:
        policy = BusinessDays(business)
    except ValueError:
        c.error("cutoffs.business_days", f"unknown business_days rule '{business}'",
                'use "stay", "next" (next working day) or "previous"')
        policy = BusinessDays.STAY
    holidays = tuple(d for i, v in enumerate(_list(raw, "holidays"))
                     if (d := c.as_day(v, f"cutoffs.holidays[{i}]")) is not None)
    confirmed = tuple(d for i, v in enumerate(_list(raw, "confirmed"))
                      if (d := c.as_day(v, f"cutoffs.confirmed[{i}]")) is not None)
    condition = c.text(raw, "condition", "cutoffs")
    return Cutoffs(tuple(dates), recurrence, condition, confirmed, policy, holidays)


def _list(table: dict[str, Any], key: str) -> list[Any]:
    value = table.get(key, [])
    return value if isinstance(value, list) else [value]


def _budget(c: _Checker, data: dict[str, Any], sources: dict[str, Source]) -> Budget | None:
    if "budget" not in data:
        return None
    raw = c.table(data, "budget")
    c.keys(raw, "budget", BUDGET_KEYS, required=("amount",))
    currency = c.text(raw, "currency", "budget", "EUR")
    if not re.fullmatch(r"[A-Z]{3}", currency):
        c.error("budget.currency", f"currency '{currency}' is not an ISO 4217 code",
                'write it as three capital letters, e.g. currency = "EUR"')
    parts = []
    for i, part in enumerate(c.tables(raw, "parts", "budget")):
        where = f"budget.parts[{i}]"
        c.keys(part, where, PART_KEYS, required=("name",))
        parts.append(BudgetPart(c.text(part, "name", where), c.amount(part, "amount", where),
                                c.text(part, "note", where)))
    amount = c.amount(raw, "amount", "budget")
    return Budget(amount or 0, currency, c.boolean(raw, "approximate", "budget"), tuple(parts),
                  c.amount(raw, "remaining", "budget"), c.text(raw, "note", "budget"),
                  _source_ref(c, raw, "budget", sources))


def _milestones(c: _Checker, data: dict[str, Any], sources: dict[str, Source]) \
        -> tuple[Milestone, ...]:
    out: list[Milestone] = []
    seen: set[str] = set()
    for i, raw in enumerate(c.tables(data, "milestones")):
        where = f"milestones[{i}]"
        c.keys(raw, where, MILESTONE_KEYS, required=("id", "title", "date"))
        key = c.text(raw, "id", where)
        if key and not SLUG.match(key):
            c.error(f"{where}.id", f"milestone id '{key}' must be lower-case letters, digits, "
                    "- _ .", 'e.g. id = "ai-act-in-force"')
        if key in seen:
            c.error(f"{where}.id", f"milestone id '{key}' is used twice", "give each a unique id")
        seen.add(key)
        when = c.fuzzy(raw["date"], f"{where}.date") if "date" in raw else None
        if key and when:
            out.append(Milestone(key, c.text(raw, "title", where), when,
                                 c.boolean(raw, "tentative", where), c.day(raw, "announced", where),
                                 _source_ref(c, raw, where, sources), c.text(raw, "note", where),
                                 c.text(raw, "url", where)))
    return tuple(out)


def _amendments(c: _Checker, data: dict[str, Any], sources: dict[str, Source]) \
        -> tuple[Amendment, ...]:
    out: list[Amendment] = []
    for i, raw in enumerate(c.tables(data, "amendments")):
        where = f"amendments[{i}]"
        c.keys(raw, where, AMEND_KEYS, required=("action", "announced"))
        name = c.text(raw, "action", where)
        try:
            action = Action(name)
        except ValueError:
            if "action" in raw:
                c.error(f"{where}.action", f"unknown action '{name}'",
                        "use move, add, cancel, confirm or budget")
            continue
        announced = c.day(raw, "announced", where)
        cutoff = c.day(raw, "cutoff", where)
        milestone = c.text(raw, "milestone", where)
        target: date | datetime | FuzzyDate | None = None
        to_key = "to" if "to" in raw else "date" if "date" in raw else ""
        if to_key:
            target = (c.fuzzy(raw[to_key], f"{where}.{to_key}") if milestone
                      else c.moment(raw[to_key], f"{where}.{to_key}"))
        if action in (Action.MOVE, Action.ADD) and not to_key:
            c.error(where, f"a '{action}' amendment needs the new date",
                    "add to = 2025-02-01")
        closing = c.boolean(raw, "closing", where)
        if closing and (action is not Action.MOVE or isinstance(target, datetime)):
            c.error(f"{where}.closing", "closing = true only goes with action = \"move\" and a "
                    "date", "write action = \"move\", closing = true, to = 2025-08-21")
        if action in (Action.MOVE, Action.CANCEL, Action.CONFIRM) and not (
                cutoff or milestone or closing):
            c.error(where, f"a '{action}' amendment must say what it changes",
                    "add cutoff = <the date as scheduled>, milestone = \"<milestone id>\" or "
                    "closing = true")
        if action is Action.BUDGET and "amount" not in raw and "remaining" not in raw:
            c.error(where, "a budget amendment needs amount or remaining",
                    "add remaining = 250_000_000")
        if announced is not None:
            out.append(Amendment(action, announced, cutoff, milestone, target,
                                 c.boolean(raw, "tentative", where), c.amount(raw, "amount", where),
                                 c.amount(raw, "remaining", where),
                                 _source_ref(c, raw, where, sources), c.text(raw, "note", where),
                                 c.line(where), closing))
    return tuple(out)


def _nearest(days: list[date], target: date, n: int = 8) -> list[date]:
    """The `n` days nearest `target`, in date order."""
    return sorted(sorted(days, key=lambda d: abs((d - target).days))[:n])


def _check_schedule(c: _Checker, rule: Rule) -> None:
    """Cross-field checks that need the whole rule: open period, references, recurrences."""
    rec = rule.cutoffs.recurrence
    if rec is not None and len(recurrence_dates(rule)) > MAX_RECURRENCES:
        c.error("cutoffs.every", f"the recurrence gives more than {MAX_RECURRENCES} cut-offs",
                "set an earlier until, a smaller count or a longer interval")
        return
    if rec is not None and rule.closes and rec.until and rec.until > latest_closes(rule):  # type: ignore[operator]
        c.error("cutoffs.until", f"until ({rec.until}) is after the call closes ({rule.closes})",
                "set until on or before 'closes'")
    slots = schedule(rule)

    closes = latest_closes(rule)

    def outside(day: date) -> bool:
        return bool((rule.opens and day < rule.opens) or (closes and day > closes))

    period = f"{rule.opens or '…'} to {closes or '…'}"
    for i, item in enumerate(rule.cutoffs.dates):
        day = item.when.date() if isinstance(item.when, datetime) else item.when
        if outside(day):
            c.error(f"cutoffs.dates[{i}]", f"cut-off {day} is outside the open period ({period})",
                    "fix the date, or 'opens'/'closes'")
    for s in slots:
        if outside(s.scheduled) and s.scheduled not in [d.when for d in rule.cutoffs.dates]:
            c.error("cutoffs.first", f"the recurrence gives {s.scheduled}, outside the open "
                    f"period ({period})", "move 'first' or 'until' inside the open period")
            break
    scheduled = {s.scheduled for s in slots}
    for d in rule.cutoffs.confirmed:
        if d not in scheduled:
            c.error("cutoffs.confirmed", f"{d} is not one of the scheduled cut-offs",
                    "list dates the recurrence or 'dates' produce")
    keys = {m.key for m in rule.milestones}
    for i, a in enumerate(rule.amendments):
        where = f"amendments[{i}]"
        if a.cutoff is not None and find_slot(slots, a.cutoff) is None and not any(
                b.action is Action.ADD and isinstance(b.to, date) and
                (b.to.date() if isinstance(b.to, datetime) else b.to) == a.cutoff
                for b in rule.amendments):
            # the scheduled dates nearest the one written: a typo late in a long series
            # must still show the date that was meant
            near_days = _nearest([s.scheduled for s in slots], a.cutoff)
            listed = ", ".join(d.isoformat() for d in near_days) or "none"
            c.error(f"{where}.cutoff", f"no cut-off is scheduled on {a.cutoff}",
                    f"use a date as scheduled: {listed}")
        if a.milestone and a.milestone not in keys:
            near = difflib.get_close_matches(a.milestone, sorted(keys), n=1)
            c.error(f"{where}.milestone", f"no milestone with id '{a.milestone}'",
                    f"did you mean '{near[0]}'?" if near else "use a milestone id from this file")
        if not a.milestone and isinstance(a.to, date) and a.action in (Action.MOVE, Action.ADD):
            day = a.to.date() if isinstance(a.to, datetime) else a.to
            if outside(day):
                c.error(f"{where}.to", f"{day} is outside the open period ({period})",
                        "fix the date, or amend 'closes' in the rule")
    if rule.type is RuleType.CALL:
        n = len(slots)
        if rule.submission is Submission.SINGLE and n > 1:
            c.error("submission", f"a single-deadline call has {n} cut-offs",
                    'use submission = "multiple-cutoff", or list one date')
        if rule.submission is Submission.TWO_STAGE and n != 2:
            c.error("submission", f"a two-stage call needs exactly 2 deadlines, found {n}",
                    'list both under [cutoffs] dates = [{date = ..., label = "stage 1"}, ...]')


def parse_rule(text: str, path: str) -> tuple[Rule | None, list[Problem]]:
    """Parse one rule file's text; returns the rule (if usable) and every problem found."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        msg = re.sub(r"\s*\(at .*\)$", "", str(exc))
        hint = "check quotes, brackets and dates near this line (dates must exist: 2025-02-30 " \
            "does not)"
        return None, [Problem(path, int(m.group(1)) if m else None, "", f"TOML: {msg}", hint)]
    c = _Checker(path, line_index(text))
    c.keys(data, "", TOP_KEYS, required=("id", "title"))
    rid = c.text(data, "id", "")
    if rid and not SLUG.match(rid):
        c.error("id", f"id '{rid}' must be lower-case letters, digits, '-', '_' or '.'",
                "put the official call identifier under identifiers = [...]")
    kind_name = c.text(data, "type", "", "call")
    try:
        kind = RuleType(kind_name)
    except ValueError:
        c.error("type", f"unknown type '{kind_name}'", 'use type = "call" or type = "milestones"')
        kind = RuleType.CALL
    sources = _sources(c, data)
    opens, closes = c.day(data, "opens", ""), c.day(data, "closes", "")
    if opens and closes and closes < opens:
        c.error("closes", f"closes ({closes}) is before opens ({opens})", "swap or fix the dates")
    submission = None
    if "submission" in data:
        name = c.text(data, "submission", "")
        try:
            submission = Submission(name)
        except ValueError:
            c.error("submission", f"unknown submission model '{name}'",
                    'use "single", "two-stage" or "multiple-cutoff"')
    cutoffs = _cutoffs(c, data)
    if kind is RuleType.MILESTONES and (cutoffs.dates or cutoffs.recurrence or submission):
        c.error("type", "a milestones file has no cut-offs or submission model",
                'set type = "call", or move the cut-offs to a call file')
    if kind is RuleType.CALL and submission is None:
        many = cutoffs.recurrence is not None or len(cutoffs.dates) > 1
        submission = Submission.MULTIPLE_CUTOFF if many else Submission.SINGLE
    if submission is Submission.SINGLE and not cutoffs.dates and cutoffs.recurrence is None:
        if closes is None and kind is RuleType.CALL:
            c.error("closes", "a single-deadline call needs its deadline",
                    "add closes = <deadline date>, or list it under [cutoffs] dates")
        elif closes is not None:
            cutoffs = Cutoffs((CutoffDate(closes, key="deadline"),), None, cutoffs.condition,
                              cutoffs.confirmed, cutoffs.business_days, cutoffs.holidays)
    tags = c.texts(data, "tags", "")
    for t in tags:
        if not SLUG.match(t):
            c.error("tags", f"tag '{t}' must be lower-case letters, digits, '-', '_' or '.'",
                    f'e.g. "{re.sub(r"[^a-z0-9._-]+", "-", t.lower()).strip("-")}"')
    rule = Rule(
        id=rid, type=kind, title=c.text(data, "title", ""), path=path, timezone=_zone(c, data),
        deadline_time=_deadline_time(c, data), identifiers=c.texts(data, "identifiers", ""),
        funder=c.text(data, "funder", ""), programmes=c.texts(data, "programmes", ""),
        url=c.text(data, "url", ""), tags=tags, summary=c.text(data, "summary", ""),
        opens=opens, closes=closes, submission=submission, cutoffs=cutoffs,
        budget=_budget(c, data, sources), amendments=_amendments(c, data, sources),
        milestones=_milestones(c, data, sources), sources=sources,
        source=_source_ref(c, data, "", sources),
    )
    _check_schedule(c, rule)
    problems = sorted(c.problems, key=lambda p: (p.line or 0, p.key))
    return (None if problems else rule), problems


def rule_files(paths: Sequence[Path]) -> list[Path]:
    """Every *.toml rule file under the given files or folders, in a stable order."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*.toml") if f.is_file()))
        else:
            out.append(p)
    return out


def check_files(paths: Sequence[Path]) -> tuple[list[Rule], list[Problem]]:
    """Parse every rule file; a broken file never stops the others from being checked."""
    rules: list[Rule] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for p in paths:  # an empty folder would withdraw every call: almost always a wrong path
        if p.is_dir() and not any(f.is_file() for f in p.rglob("*.toml")):
            problems.append(Problem(str(p), None, "", "no rule files (*.toml) in this folder",
                                    "check the path (--seeds, TRACKER_SEEDS) or add a rule file"))
    for f in rule_files(paths):
        name = str(f)
        try:
            text = f.read_text(encoding="utf-8")
        except FileNotFoundError:
            problems.append(Problem(name, None, "", "no such file", "check the path"))
            continue
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(name, None, "", f"cannot read: {exc}", "save it as UTF-8"))
            continue
        rule, found = parse_rule(text, name)
        problems.extend(found)
        if rule is None:
            continue
        if rule.id in seen:
            problems.append(Problem(name, line_index(text).get("id"), "id",
                                    f"id '{rule.id}' is also used by {seen[rule.id]}",
                                    "every rule file needs its own id"))
            continue
        seen[rule.id] = name
        rules.append(rule)
    return rules, problems


def load_rules(paths: Sequence[Path]) -> list[Rule]:
    """All rules under `paths`, or RuleError with every problem of every file."""
    rules, problems = check_files(paths)
    if problems:
        raise RuleError(problems)
    return rules
