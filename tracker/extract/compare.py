"""A later announcement against an existing rule: what disagrees, as proposed amendments."""

from __future__ import annotations

import calendar
import json
from datetime import date, datetime, timedelta
from typing import Any

from tracker.errors import UsageError
from tracker.extract.find import drafts
from tracker.extract.model import Cutoff, Draft, Fact
from tracker.extract.render import comment
from tracker.models import Rule

ANNOUNCEMENT = "announcement"


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    y, m = d.year + y, m + 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def scheduled(rule: Rule) -> list[date]:
    """The rule's cut-off days as originally scheduled (listed and generated), in order."""
    days = {c.when.date() if isinstance(c.when, datetime) else c.when
            for c in rule.cutoffs.dates}
    r = rule.cutoffs.recurrence
    if r is not None:
        n = 0
        while n < 1000 and (r.count is None or n < r.count):
            if r.unit == "months":
                d = _add_months(r.first, r.interval * n)
            else:
                d = r.first + timedelta(days=r.interval * n * (7 if r.unit == "weeks" else 1))
            if r.until is not None and d > r.until:
                break
            days.add(d)
            n += 1
    return sorted(days)


def _block(lines: list[str], f: Fact[Any]) -> list[str]:
    """One [[amendments]] entry; the line with the new value quotes the announcement."""
    said = [f"{x}  {comment(f)}" if x.startswith(("to =", "amount =")) else x for x in lines]
    return ["", "[[amendments]]", *said]


def _proposals(rule: Rule, d: Draft, source: str) -> tuple[list[str], list[str]]:
    """The amendments an announcement implies, and notes on what it says that none can."""
    out: list[str] = []
    notes: list[str] = []
    common = [f"announced = {d.published}", f'source = "{source}"']
    days = scheduled(rule)
    for c in [*d.cutoffs, *([Cutoff(d.first, 1)] if d.first else [])]:
        new = c.when.value
        if new in days:
            continue
        if c.n is None or c.n < 1:
            notes.append(f'# "{c.when.quote}": a cut-off on {new} that the rule does not '
                         'schedule; add it (action = "add") or move one by hand.')
        elif c.n > len(days):
            out += _block(['action = "add"', f"to = {new.isoformat()}", *common], c.when)
        else:
            out += _block(['action = "move"', f"cutoff = {days[c.n - 1].isoformat()}",
                           f"to = {new.isoformat()}", *common], c.when)
    if d.closes and rule.closes and d.closes.value != rule.closes:
        at = [f"cutoff = {rule.closes.isoformat()}"] if rule.closes in days else []
        out += _block(['action = "move"', *at, "closing = true",
                       f"to = {d.closes.value.isoformat()}", *common], d.closes)
    if d.opens and rule.opens and d.opens.value != rule.opens:
        notes.append(f'# "{d.opens.quote}": opens on {d.opens.value}, the rule says '
                     f"{rule.opens}; no amendment moves an opening: edit opens if it was wrong.")
    b = d.budget
    if b and rule.budget and b.value.amount != rule.budget.amount:
        if b.value.currency == rule.budget.currency:
            out += _block(['action = "budget"', f"amount = {b.value.amount:_}", *common], b)
        else:
            notes.append(f'# "{b.quote}": an amount in {b.value.currency}; the rule\'s budget '
                         f"is in {rule.budget.currency}: convert it or add a budget part.")
    return out, notes


def against(rule: Rule, text: str, *, published: date | None, lang: str = "auto") -> str:
    """Proposed [[amendments]] (TOML) where a later announcement disagrees with a rule."""
    found = drafts(text, published=published, lang=lang)
    d = next((x for x in found if any(rule.matches(i.value) for i in x.identifiers)), found[0])
    if d.published is None:
        raise UsageError("--against needs the announcement's publication day: give "
                         "--published YYYY-MM-DD or a front-matter date:")
    key = f"{ANNOUNCEMENT}-{d.published.isoformat()}"
    source = d.source_url if d.source_url.startswith(("http://", "https://")) else key
    lines, notes = _proposals(rule, d, source)
    head = [f"# Proposed amendments to {rule.id} from an announcement published "
            f"{d.published.isoformat()}; append them to {rule.path}."]
    if source == key:
        head += ["# Add this line to its [sources] table:",
                 f"# {key} = {{ title = {json.dumps(d.source_title, ensure_ascii=False)}, "
                 f"published = {d.published.isoformat()} }}"]
    if not lines:
        nothing = "# No amendment to propose." if notes else \
            "# Nothing in the announcement disagrees with the rule."
        return "\n".join([*head[:1], nothing, *notes]) + "\n"
    return "\n".join(head + notes + lines) + "\n"
