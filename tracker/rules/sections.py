"""One reader per part of a rule file: sources, cut-offs, budget, milestones, amendments."""

from __future__ import annotations

import contextlib
import difflib
import re
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

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
    Recurrence,
    Source,
)
from tracker.rules.checker import PERIOD, SLUG, Checker, join

TOP_KEYS = {
    "id", "type", "title", "identifiers", "funder", "programmes", "url", "tags", "summary",
    "timezone", "deadline_time", "opens", "closes", "submission", "cutoffs", "budget",
    "amendments", "milestones", "sources", "source", "announced", "deadline_time_basis",
    "withdrawn",
}
CUTOFF_KEYS = {"dates", "first", "every", "until", "count", "condition", "confirmed",
               "business_days", "holidays"}
DATE_ITEM_KEYS = {"date", "key", "label", "tentative", "source"}
BUDGET_KEYS = {"amount", "currency", "approximate", "parts", "remaining", "note", "source"}
PART_KEYS = {"name", "amount", "note"}
AMEND_KEYS = {"action", "announced", "cutoff", "milestone", "closing", "to", "date", "tentative",
              "amount", "remaining", "source", "note"}
MILESTONE_KEYS = {"id", "title", "date", "tentative", "announced", "source", "note", "url"}
SOURCE_KEYS = {"title", "url", "published", "secondary", "retrieved"}


def zone(c: Checker, data: dict[str, Any]) -> str:
    """The call's IANA zone (Europe/Brussels by default)."""
    name = c.text(data, "timezone", "", "Europe/Brussels")
    try:
        if len(name) > 64:  # longer names are not zones, and make the OS refuse the path
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        near = difflib.get_close_matches(name, sorted(available_timezones()), n=1, cutoff=0.6)
        hint = f"did you mean '{near[0]}'?" if near else "use an IANA name such as Europe/Brussels"
        c.error("timezone", f"unknown time zone '{name}'", hint)
        return "Europe/Brussels"
    return name


def deadline_time(c: Checker, data: dict[str, Any]) -> time:
    """The local hour of every deadline (17:00 by default)."""
    value = data.get("deadline_time", time(17, 0))
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = time.fromisoformat(value.strip())
    if not isinstance(value, time) or value.tzinfo is not None:
        c.error("deadline_time", f"deadline_time must be a local time, got {value!r}",
                "write deadline_time = 17:00:00 (no quotes; the zone comes from 'timezone')")
        return time(17, 0)
    return value


def sources(c: Checker, data: dict[str, Any]) -> dict[str, Source]:
    """The [sources] table: key -> title, link, publication day, secondary or not."""
    out: dict[str, Source] = {}
    for key, value in c.table(data, "sources").items():
        where = f"sources.{key}"
        if isinstance(value, str):
            url = c.link({key: value}, key, "sources") if value.startswith("http") else ""
            out[key] = Source(key, c.text({key: value}, key, "sources"), url)
            continue
        if not isinstance(value, dict):
            c.error(where, "a source must be a table or a string",
                    f'write {key} = {{ title = "...", url = "https://..." }}')
            continue
        c.keys(value, where, SOURCE_KEYS, required=("title",))
        out[key] = Source(key, c.text(value, "title", where), c.link(value, "url", where),
                          c.day(value, "published", where), c.boolean(value, "secondary", where),
                          c.instant(value, "retrieved", where))
    return out


def source_ref(c: Checker, table: dict[str, Any], where: str, sources: dict[str, Source]) -> str:
    """A 'source = ...' reference: a key of [sources] or a URL."""
    ref = c.text(table, "source", where)
    if ref and not ref.startswith(("http://", "https://")) and ref not in sources:
        near = difflib.get_close_matches(ref, sorted(sources), n=1, cutoff=0.5)
        hint = f"did you mean '{near[0]}'?" if near else \
            "define it under [sources] or give a URL starting with https://"
        c.error(join(where, "source"), f"unknown source '{ref}'", hint)
    return ref


def cutoffs(c: Checker, data: dict[str, Any], known: dict[str, Source]) -> Cutoffs:
    """The [cutoffs] table: listed dates and/or a recurrence, condition, business-day rule."""
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
                                        c.boolean(item, "tentative", where),
                                        source_ref(c, item, where, known)))
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
    holidays = tuple(d for i, v in enumerate(as_list(raw, "holidays"))
                     if (d := c.as_day(v, f"cutoffs.holidays[{i}]")) is not None)
    confirmed = tuple(d for i, v in enumerate(as_list(raw, "confirmed"))
                      if (d := c.as_day(v, f"cutoffs.confirmed[{i}]")) is not None)
    condition = c.text(raw, "condition", "cutoffs")
    return Cutoffs(tuple(dates), recurrence, condition, confirmed, policy, holidays)


def as_list(table: dict[str, Any], key: str) -> list[Any]:
    """A value that may be written as one item or a list."""
    value = table.get(key, [])
    return value if isinstance(value, list) else [value]


def budget(c: Checker, data: dict[str, Any], sources: dict[str, Source]) -> Budget | None:
    """The [budget] table and its parts."""
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
                  source_ref(c, raw, "budget", sources))


def milestones(c: Checker, data: dict[str, Any], sources: dict[str, Source]) \
        -> tuple[Milestone, ...]:
    """Every [[milestones]] entry; ids must be unique."""
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
                                 source_ref(c, raw, where, sources), c.text(raw, "note", where),
                                 c.link(raw, "url", where)))
    return tuple(out)


def amendments(c: Checker, data: dict[str, Any], sources: dict[str, Source]) \
        -> tuple[Amendment, ...]:
    """Every [[amendments]] entry, checked for what its action needs."""
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
                                 source_ref(c, raw, where, sources), c.text(raw, "note", where),
                                 c.line(where), closing))
    return tuple(out)

