"""Dates in announcement text: absolute, relative to the publication day, and fuzzy ones."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from tracker.extract.numbers import word_int
from tracker.extract.tables import Phrases
from tracker.models import FuzzyDate, Precision

NEEDS_DAY = "needs the publication day (--published or a front-matter date:)"
INFERRED = "year taken from the publication day"
RELATIVE = "counted from the publication day"
_QWORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "premier": 1, "1er": 1,
           "deuxième": 2, "2e": 2, "troisième": 3, "3e": 3, "quatrième": 4, "4e": 4,
           "ersten": 1, "zweiten": 2, "dritten": 3, "vierten": 4, "1.": 1, "2.": 2, "3.": 3,
           "4.": 4, "一": 1, "二": 2, "三": 3, "四": 4}


@dataclass(frozen=True)
class Mention:
    """A date found in the text; `when` is None when it cannot be placed without a guess."""

    when: FuzzyDate | None
    quote: str
    start: int
    end: int
    confidence: str = ""
    note: str = ""


def _day(y: int, m: int, d: int) -> FuzzyDate | None:
    try:
        return FuzzyDate(date(y, m, d), Precision.DAY)
    except ValueError:
        return None


def _month(y: int, m: int) -> FuzzyDate | None:
    return FuzzyDate(date(y, m, 1), Precision.MONTH) if 1 <= m <= 12 else None


def _quarter(y: int, q: int) -> FuzzyDate | None:
    return FuzzyDate(date(y, 3 * q - 2, 1), Precision.QUARTER) if 1 <= q <= 4 else None


def _year(y: int) -> FuzzyDate:
    return FuzzyDate(date(y, 1, 1), Precision.YEAR)


def _end_of_month(y: int, m: int) -> FuzzyDate | None:
    return _day(y, m, calendar.monthrange(y, m)[1]) if 1 <= m <= 12 else None


def _upcoming_day(pub: date, m: int, d: int) -> FuzzyDate | None:
    """The first such day from two months before publication on: announcements look ahead."""
    for y in (pub.year - 1, pub.year, pub.year + 1):
        f = _day(y, m, d)
        if f is not None and f.first >= pub - timedelta(days=60):
            return f
    return None


def _upcoming_month(pub: date, m: int) -> FuzzyDate | None:
    y = pub.year if m >= pub.month - 1 else pub.year + 1
    return _month(y, m)


Values = Mapping[str, int | None]
# kind -> (needs the publication day, how the date follows from the groups and that day)
_KINDS: dict[str, tuple[bool, Callable[[Values, date], FuzzyDate | None], str, str]] = {
    "iso": (False, lambda g, _p: _day(g["y"] or 0, g["m"] or 0, g["d"] or 0), "", ""),
    "dmy": (False, lambda g, _p: _day(g["y"] or 0, g["m"] or 0, g["d"] or 0), "", ""),
    "dm": (True, lambda g, p: _upcoming_day(p, g["m"] or 0, g["d"] or 0), "medium", INFERRED),
    "dm_next_year": (True, lambda g, p: _day(p.year + 1, g["m"] or 0, g["d"] or 0), "",
                     RELATIVE),
    "d_this_month": (True, lambda g, p: _day(p.year, p.month, g["d"] or 0), "", RELATIVE),
    "end_my": (False, lambda g, _p: _end_of_month(g["y"] or 0, g["m"] or 0), "",
               "the end of the month is its last day"),
    "end_y": (False, lambda g, _p: _quarter(g["y"] or 0, 4), "", "the end of a year is its Q4"),
    "end_this_year": (True, lambda _g, p: _quarter(p.year, 4), "", RELATIVE),
    "end_next_year": (True, lambda _g, p: _quarter(p.year + 1, 4), "", RELATIVE),
    "my": (False, lambda g, _p: _month(g["y"] or 0, g["m"] or 0), "", ""),
    "q": (False, lambda g, _p: _quarter(g["y"] or 0, g["q"] or 0), "", ""),
    "y": (False, lambda g, _p: _year(g["y"] or 0), "", ""),
    "this_year": (True, lambda _g, p: _year(p.year), "", RELATIVE),
    "next_year": (True, lambda _g, p: _year(p.year + 1), "", RELATIVE),
    "m": (True, lambda g, p: _upcoming_month(p, g["m"] or 0), "medium", INFERRED),
    "next_m": (True, lambda g, p: _month(p.year + (1 if (g["m"] or 0) <= p.month else 0),
                                         g["m"] or 0), "", RELATIVE),
    "last_m": (True, lambda g, p: _month(p.year - (1 if (g["m"] or 0) >= p.month else 0),
                                         g["m"] or 0), "", RELATIVE),
    "m_next_year": (True, lambda g, p: _month(p.year + 1, g["m"] or 0), "", RELATIVE),
    "m_last_year": (True, lambda g, p: _month(p.year - 1, g["m"] or 0), "", RELATIVE),
    "today": (True, lambda _g, p: FuzzyDate(p, Precision.DAY), "", RELATIVE),
}
_COMPILED: dict[str, list[tuple[str, re.Pattern[str]]]] = {}


def alternation(words: Mapping[str, int] | tuple[str, ...]) -> str:
    """A regex alternation of words, longest first."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _patterns(t: Phrases) -> list[tuple[str, re.Pattern[str]]]:
    if t.code not in _COMPILED:
        month, num = alternation(t.months) or "(?!)", alternation(t.numbers) or "(?!)"
        _COMPILED[t.code] = [
            (kind, re.compile(rx.replace("{month}", month).replace("{num}", num), re.I))
            for kind, rx in t.dates]
    return _COMPILED[t.code]


def _groups(m: re.Match[str], t: Phrases) -> dict[str, int | None]:
    g = m.groupdict()
    month = (g.get("m") or "").lower().rstrip(".")
    qw = (g.get("qw") or "").lower()
    return {"y": word_int(g.get("y"), t), "d": word_int(g.get("d"), t),
            "m": t.months.get(month) or word_int(month or None, t),
            "q": word_int(g.get("q"), t) or _QWORDS.get(qw) or word_int(qw or None, t)}


def find_dates(text: str, t: Phrases, published: date | None) -> list[Mention]:
    """Every date in a text, longest match first where phrasings overlap, in text order."""
    found: list[tuple[int, int, str, re.Match[str]]] = []
    for kind, rx in _patterns(t):
        found.extend((m.start(), m.end(), kind, m) for m in rx.finditer(text))
    found.sort(key=lambda f: (-(f[1] - f[0]), f[0]))
    chosen: list[tuple[int, int, str, re.Match[str]]] = []
    for f in found:
        if all(f[1] <= c[0] or f[0] >= c[1] for c in chosen):
            chosen.append(f)
    out: list[Mention] = []
    for start, end, kind, m in sorted(chosen, key=lambda f: f[0]):
        needs, make, confidence, note = _KINDS[kind]
        quote = text[start:end].strip()
        if needs and published is None:
            out.append(Mention(None, quote, start, end, "", NEEDS_DAY))
            continue
        when = make(_groups(m, t), published or date.min)
        if when is None or not 1900 <= when.first.year <= 2199:
            continue
        out.append(Mention(when, quote, start, end, confidence, note))
    return out
