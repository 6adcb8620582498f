"""One rule file's text to a `Rule`, with every problem found."""

from __future__ import annotations

import re
from typing import Any

import tomli as tomllib  # tomllib's own source, compiled (mypyc): 3x faster on rule files

from tracker.errors import Problem
from tracker.models import CutoffDate, Cutoffs, Rule, RuleType, Submission, TimeBasis
from tracker.rules import sections as part
from tracker.rules.checker import SLUG, Checker
from tracker.rules.crosscheck import check_known, check_schedule


def _toml(text: str, path: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    try:
        return tomllib.loads(text), []
    except RecursionError:
        return None, [Problem(path, _too_deep(text), "", "the file nests tables or lists too "
                              "deeply", "a rule file needs at most a few levels of [tables] "
                              "and [lists]")]
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        msg = re.sub(r"\s*\(at .*\)$", "", str(exc))
        hint = "check quotes, brackets and dates near this line (dates must exist: 2025-02-30 " \
            "does not)"
        line = int(m.group(1)) if m else None
        if line is None and "end of document" in str(exc):
            line = max(1, len(text.splitlines()))  # cut short: the last line is where it ends
        return None, [Problem(path, line, "", f"TOML: {msg}", hint)]


def _too_deep(text: str, limit: int = 100) -> int | None:
    """The line where brackets and braces (outside quoted strings) first nest `limit` deep."""
    depth, quote, escaped = 0, "", False
    for number, line in enumerate(text.splitlines(), 1):
        for ch in line:
            if quote:
                if escaped:
                    escaped = False
                elif ch == "\\" and quote == '"':
                    escaped = True
                elif ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote = ch
            elif ch == "#":
                break
            elif ch in "[{":
                depth += 1
                if depth >= limit:
                    return number
            elif ch in "]}":
                depth = max(0, depth - 1)
    return None


def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` laid on `base`: tables merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def parse_rule(text: str, path: str, override: tuple[str, str] | None = None) \
        -> tuple[Rule | None, list[Problem]]:
    """Parse one rule file's text (with an override file's (text, path) laid over it, if any);
    returns the rule (if usable) and every problem found."""
    data, problems = _toml(text, path)
    if data is None:
        return None, problems
    c = Checker(path, text)
    if override is not None:
        extra, problems = _toml(*override)
        if extra is None:
            return None, problems
        data = merged(data, extra)
        c.override_path, c.override_source = override[1], override[0]
    c.keys(data, "", part.TOP_KEYS, required=("id", "title"))
    rid = c.text(data, "id", "")
    if rid and not SLUG.match(rid):
        c.error("id", f"id '{rid[:40]}' must be at most 100 lower-case letters, digits, '-', '_' "
                "or '.'",
                "put the official call identifier under identifiers = [...]")
    kind_name = c.text(data, "type", "", "call")
    try:
        kind = RuleType(kind_name)
    except ValueError:
        c.error("type", f"unknown type '{kind_name}'", 'use type = "call" or type = "milestones"')
        kind = RuleType.CALL
    sources = part.sources(c, data)
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
    cutoffs = part.cutoffs(c, data, sources)
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
            c.error("tags", f"tag '{t[:40]}' must be at most 100 lower-case letters, digits, '-', "
                    "'_' or '.'",
                    f'e.g. "{re.sub(r"[^a-z0-9._-]+", "-", t.lower()).strip("-")}"')
    rule = Rule(
        id=rid, type=kind, title=c.text(data, "title", ""), path=path,
        timezone=part.zone(c, data), deadline_time=part.deadline_time(c, data),
        identifiers=c.texts(data, "identifiers", ""), funder=c.text(data, "funder", ""),
        programmes=c.texts(data, "programmes", ""), url=c.link(data, "url", ""), tags=tags,
        summary=c.text(data, "summary", ""), opens=opens, closes=closes, submission=submission,
        cutoffs=cutoffs, budget=part.budget(c, data, sources),
        amendments=part.amendments(c, data, sources),
        milestones=part.milestones(c, data, sources), sources=sources,
        source=part.source_ref(c, data, "", sources),
        announced=c.day(data, "announced", "") or _earliest(sources),
        time_basis=_time_basis(c, data), withdrawn=c.boolean(data, "withdrawn", ""),
    )
    check_schedule(c, rule)
    check_known(c, rule)
    problems = sorted(c.problems, key=lambda p: (p.line or 0, p.key))
    return (None if any(not p.warning for p in problems) else rule), problems



def _earliest(sources: dict[str, Any]) -> Any:
    """A call is known from its earliest dated source, when no 'announced' day is given."""
    days = [s.published for s in sources.values() if s.published is not None]
    return min(days) if days else None


def _time_basis(c: Checker, data: dict[str, Any]) -> TimeBasis:
    """How the deadline hour is known: stated by default when an hour is written, else assumed."""
    default = "stated" if "deadline_time" in data else "assumed"
    name = c.text(data, "deadline_time_basis", "", default)
    try:
        return TimeBasis(name)
    except ValueError:
        c.error("deadline_time_basis", f"unknown deadline_time_basis '{name}'",
                'use "stated" (a source gives the hour), "convention" (the funder\'s usual '
                'hour) or "assumed"')
        return TimeBasis.ASSUMED
