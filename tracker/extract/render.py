"""A Draft as a rule file (TOML with a quote after each value) or as JSON."""

from __future__ import annotations

import json
from datetime import date, time
from typing import Any

from tracker.extract.model import Draft, Fact, Money
from tracker.models import FuzzyDate, Precision

SOURCE_KEY = "announcement"
DEFAULT_ZONE = "Europe/Brussels"


def _s(text: str) -> str:
    """A TOML basic string (JSON's escapes are all valid TOML)."""
    return json.dumps(text, ensure_ascii=False)


def _quote(text: str, limit: int = 90) -> str:
    one = " ".join(text.split()).replace('"', "'")
    return one if len(one) <= limit else one[:limit - 3] + "..."


def comment(f: Fact[Any]) -> str:
    """'# "quoted words"  (confidence: medium; why)' for a value's line."""
    extra = "; ".join(x for x in (f.confidence and f"confidence: {f.confidence}", f.note) if x)
    return f'# "{_quote(f.quote)}"' + (f"  ({extra})" if extra else "")


def _line(key: str, value: str, f: Fact[Any]) -> str:
    return f"{key} = {value}  {comment(f)}"


def _fuzzy(w: FuzzyDate) -> str:
    return w.first.isoformat() if w.precision is Precision.DAY else _s(w.key())


def _amount(n: int) -> str:
    return f"{n:_}"


def _unplaced(d: Draft, role: str) -> str:
    for f in d.unplaced:
        if f.value == role:
            return f'found "{_quote(f.quote, 60)}", but it is {f.note}' if f.note.startswith(
                "only") else f'found "{_quote(f.quote, 60)}", which {f.note}'
    return ""


def placeholders(d: Draft) -> dict[str, str]:
    """Keys the draft could not fill, each with the reason (shown as '# key = ?  (reason)')."""
    out: dict[str, str] = {}
    if d.title is None:
        out["title"] = "no call name found"
    if d.type != "call":
        return out
    if d.deadline_time is None:
        out["deadline_time"] = "no time found; the tracker assumes 17:00 in the call's zone"
    if d.timezone is None:
        out["timezone"] = f"no zone found; the tracker assumes {DEFAULT_ZONE}"
    if d.opens is None and _unplaced(d, "opens"):
        out["opens"] = _unplaced(d, "opens")
    if d.closes is None:
        out["closes"] = _unplaced(d, "closes") or "no closing date found"
    if d.every is not None:
        if d.first is None:
            out["first"] = _unplaced(d, "cutoff") or "no first cut-off found"
        if d.until is None:
            out["until"] = _unplaced(d, "until") or "no end of the recurrence found"
    return out


def _top(d: Draft, missing: dict[str, str]) -> list[str]:
    def hole(key: str) -> list[str]:
        """The placeholder line of a key the draft could not fill."""
        return [f"# {key} = ?  ({missing[key]})"] if key in missing else []

    lines = [f"id = {_s(d.id)}", f"type = {_s(d.type)}"]
    lines += [_line("title", _s(d.title.value), d.title)] if d.title else hole("title")
    if d.identifiers:
        ids = ", ".join(_s(f.value) for f in d.identifiers)
        lines.append(f"identifiers = [{ids}]  # " + ", ".join(
            f'"{f.quote}"' for f in d.identifiers))
    if d.funder:
        lines.append(_line("funder", _s(d.funder.value), d.funder))
    lines += [_line("timezone", _s(d.timezone.value), d.timezone)] if d.timezone \
        else hole("timezone")
    if d.deadline_time:
        lines.append(_line("deadline_time", d.deadline_time.value.isoformat("seconds"),
                           d.deadline_time))
    lines += hole("deadline_time")
    for key in ("opens", "closes"):
        f: Fact[date] | None = getattr(d, key)
        lines += [_line(key, f.value.isoformat(), f)] if f else hole(key)
    lines.append(f"source = {_s(SOURCE_KEY)}")
    return lines


def _sources(d: Draft) -> list[str]:
    parts = [f"title = {_s(d.source_title)}"]
    if d.source_url:
        parts.append(f"url = {_s(d.source_url)}")
    if d.published:
        parts.append(f"published = {d.published.isoformat()}")
    lines = ["", "[sources]", f"{SOURCE_KEY} = {{ {', '.join(parts)} }}"]
    if d.published is None:
        lines.append("# no publication day: give --published DATE or a front-matter date:")
    return lines


def _cutoffs(d: Draft, missing: dict[str, str]) -> list[str]:
    if not (d.every or d.cutoffs or d.condition):
        return []
    lines = ["", "[cutoffs]"]
    if d.every:
        lines += [_line("first", d.first.value.isoformat(), d.first)] if d.first else \
            [f"# first = ?  ({missing['first']})"]
        lines.append(_line("every", _s(d.every.value), d.every))
        lines += [_line("until", d.until.value.isoformat(), d.until)] if d.until else \
            [f"# until = ?  ({missing['until']})"]
    if d.cutoffs:
        days = ", ".join(c.when.value.isoformat() for c in d.cutoffs)
        lines.append(f"dates = [{days}]  # " + "; ".join(
            f'"{_quote(c.when.quote, 40)}"' for c in d.cutoffs))
    if d.condition:
        lines.append(_line("condition", _s(d.condition.value), d.condition))
        if d.every and d.first:
            lines.append(f"confirmed = [{d.first.value.isoformat()}]  "
                         "# the announcement states the first cut-off itself")
    return lines


def _share_note(m: Money) -> str:
    if m.share == "total":
        return "The announcement calls this amount the total."
    if m.share == "funder":
        return "The announcement calls this amount the funder's share, not the total."
    return "The announcement does not say whether this is the funder's share or the total."


def _budget(d: Draft) -> list[str]:
    if d.budget is None:
        return ["", "# no budget found: add a [budget] table with its amount if the call has one"]
    b = d.budget.value
    lines = ["", "[budget]", _line("amount", _amount(b.amount), d.budget),
             f"currency = {_s(b.currency)}"]
    if b.approximate:
        lines.append("approximate = true")
    lines += [f"note = {_s(_share_note(b))}", f"source = {_s(SOURCE_KEY)}"]
    for p in d.parts:
        m = p.value
        name = {"funder": "Funder's share", "total": "Total"}.get(m.share, "Other amount")
        lines += ["", "[[budget.parts]]", f"name = {_s(name)}"]
        if m.currency == b.currency:
            lines.append(_line("amount", _amount(m.amount), p))
        about = "about " if m.approximate else ""
        lines.append(f"note = {_s(f'{about}{m.currency} {m.amount:,}: ' + _quote(p.quote))}")
    return lines


def _milestones(d: Draft) -> list[str]:
    lines: list[str] = []
    for m in d.milestones:
        lines += ["", "[[milestones]]", f"id = {_s(m.key)}", f"title = {_s(m.title)}",
                  _line("date", _fuzzy(m.when.value), m.when)]
        if m.tentative:
            lines.append("tentative = true  # the sentence calls it expected or planned")
        lines.append(f"source = {_s(SOURCE_KEY)}")
    for f in d.unplaced:
        if f.value == "milestone":
            lines.append(f'# a date "{_quote(f.quote, 60)}" {f.note}')
    return lines


def to_toml(d: Draft) -> str:
    """The draft as a rule file: each value with its quote, placeholders for what is missing."""
    when = f", published {d.published.isoformat()}" if d.published else ""
    head = [f"# Draft rule from an announcement (language: {d.lang}{when}).",
            "# After each value: the words it came from; \"confidence\" marks a judgement.",
            "# Lines \"# key = ?\" are placeholders: fill them in or delete them, then run "
            "`tracker check`."]
    if d.other_calls:
        head.append(f"# The announcement describes {len(d.other_calls) + 1} calls; this draft is "
                    f"for one. The others: {', '.join(d.other_calls)} (use --call).")
    missing = placeholders(d)
    body = _top(d, missing) + _sources(d)
    if d.type == "call":
        body += _cutoffs(d, missing) + _budget(d)
    return "\n".join(head + body + _milestones(d)) + "\n"


def _plain(v: Any) -> Any:
    if isinstance(v, date | time):
        return v.isoformat()
    if isinstance(v, FuzzyDate):
        return {"date": v.key(), "precision": v.precision.value}
    if isinstance(v, Money):
        return {"amount": v.amount, "currency": v.currency, "approximate": v.approximate,
                "share": v.share or None}
    return v


def _fact(f: Fact[Any] | None) -> dict[str, Any] | None:
    if f is None:
        return None
    return {"value": _plain(f.value), "quote": f.quote, "confidence": f.confidence or None,
            "note": f.note or None}


def to_json(d: Draft) -> str:
    """The draft as JSON: every fact with its quote and confidence, and what is missing."""
    out: dict[str, Any] = {"id": d.id, "type": d.type, "lang": d.lang,
                           "published": _plain(d.published) if d.published else None,
                           "source": {"title": d.source_title, "url": d.source_url or None}}
    for key in ("title", "funder", "timezone", "deadline_time", "opens", "closes", "first",
                "every", "until", "condition", "budget"):
        out[key] = _fact(getattr(d, key))
    out["identifiers"] = [_fact(f) for f in d.identifiers]
    out["cutoffs"] = [{**(_fact(c.when) or {}), "rank": c.n} for c in d.cutoffs]
    out["budget_parts"] = [_fact(f) for f in d.parts]
    out["milestones"] = [{"id": m.key, "title": m.title, "tentative": m.tentative,
                          **(_fact(m.when) or {})} for m in d.milestones]
    out["unplaced"] = [{"role": f.value, "quote": f.quote, "note": f.note} for f in d.unplaced]
    out["missing"] = placeholders(d)
    out["other_calls"] = list(d.other_calls)
    return json.dumps(out, ensure_ascii=False, indent=2) + "\n"
