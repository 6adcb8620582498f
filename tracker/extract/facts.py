"""Facts in one sentence: roles of dates, recurrence, condition, time, zone, amounts, names."""

# Typographic apostrophes, CJK numerals and punctuation are part of the phrasings.
# ruff: noqa: RUF001

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import time

from tracker.extract.dates import Mention, alternation
from tracker.extract.model import Fact, Money
from tracker.extract.numbers import amounts, word_int
from tracker.extract.tables import COMMON_ZONES, Phrases

LAST = -1  # rank of "the final cut-off": the closing
IDENTIFIER = re.compile(r"\b[A-Z][A-Z0-9]*(?:[-/][A-Z0-9]+){2,}\b")
_LAST_WORDS = {"final", "last", "dernière", "derniere", "dernier", "letzte", "letzter",
               "letzten"}
_NEXT_WORDS = {"next", "prochaine", "nächste", "nächster", "nächsten"}
_CACHE: dict[tuple[str, str, int], list[re.Pattern[str]]] = {}


def compiled(t: Phrases, name: str, patterns: Iterable[str], flags: int = re.I) \
        -> list[re.Pattern[str]]:
    """The table's patterns of one kind, compiled once."""
    key = (t.code, name, flags)
    if key not in _CACHE:
        num = alternation(t.numbers) or "(?!)"
        _CACHE[key] = [re.compile(p.replace("{num}", num), flags) for p in patterns]
    return _CACHE[key]


def _last_match(rxs: Sequence[re.Pattern[str]], text: str) -> re.Match[str] | None:
    best: re.Match[str] | None = None
    for rx in rxs:
        for m in rx.finditer(text):
            if best is None or (m.end(), -m.start()) > (best.end(), -best.start()):
                best = m
    return best


def _first_match(rxs: Sequence[re.Pattern[str]], text: str) -> re.Match[str] | None:
    hits = [m for rx in rxs if (m := rx.search(text))]
    return min(hits, key=lambda m: m.start()) if hits else None


def _rank(m: re.Match[str], t: Phrases) -> int | None:
    g = m.groupdict()
    word = (g.get("ord") or g.get("ord2") or "").lower()
    if not word or word in _NEXT_WORDS:
        return None
    if word in _LAST_WORDS:
        return LAST
    return word_int(word, t)


def roles(text: str, mentions: Sequence[Mention], t: Phrases) -> list[tuple[str, int | None]]:
    """For each date: its role ("opens", "closes", "cutoff", "deadline", "until", "" for none)
    from the nearest role word before it (or right after it, in Chinese), and its rank."""
    out: list[tuple[str, int | None]] = []
    for i, m in enumerate(mentions):
        lo = mentions[i - 1].end if i else 0
        hi = mentions[i + 1].start if i + 1 < len(mentions) else len(text)
        best: tuple[str, re.Match[str]] | None = None
        for role, pats in t.roles.items():
            hit = _last_match(compiled(t, "role-" + role, pats), text[lo:m.start])
            if hit and (best is None or (hit.end(), -hit.start()) >
                        (best[1].end(), -best[1].start())):
                best = (role, hit)
        if t.verb_after:
            after = text[m.end:min(hi, m.end + 6)]
            for role, pats in t.roles.items():
                hit = _first_match(compiled(t, "role-" + role, pats), after)
                if hit and hit.start() <= 2:
                    best = (role, hit)
                    break
        out.append((best[0], _rank(best[1], t)) if best else ("", None))
    return out


def recurrence(text: str, t: Phrases) -> Fact[str] | None:
    """"every two months" -> "2 months"."""
    for rx in compiled(t, "every", t.every):
        m = rx.search(text)
        if m:
            unit = m.group("unit").lower()
            mult, name = t.units.get(unit, t.units.get(unit.rstrip("s"), (1, "months")))
            n = word_int(m.groupdict().get("n"), t) or 1
            return Fact(f"{n * mult} {name}", m.group().strip())
    for value, rx in zip(t.periodic.values(), compiled(t, "periodic", t.periodic), strict=True):
        m = rx.search(text)
        if m:
            return Fact(value, m.group().strip())
    return None


def condition(text: str, t: Phrases) -> Fact[str] | None:
    """A budget condition that makes later cut-offs tentative, in the text's own words."""
    m = _first_match(compiled(t, "conditions", t.conditions), text)
    return Fact(m.group().strip(), m.group().strip()) if m else None


def deadline_time(text: str, t: Phrases) -> Fact[time] | None:
    """A stated hour: "17:00", "17h00", "5 pm", "17 Uhr", "下午5时"."""
    m = _first_match(compiled(t, "times", t.times), text)
    if not m:
        return None
    g = m.groupdict()
    if g.get("noon"):
        return Fact(time(12, 0), m.group().strip())
    h, mi = word_int(g.get("h"), t), word_int(g.get("mi"), t) or 0
    ap = (g.get("ap") or "").lower().replace(" ", "")
    if h is None:
        return None
    if ap and (ap.startswith("p") or ap in t.pm_words) and h < 12:
        h += 12
    if not (0 <= h <= 23 and 0 <= mi <= 59):
        return None
    return Fact(time(h, mi), m.group().strip())


def zone(text: str, t: Phrases) -> Fact[str] | None:
    """The time zone named in the text, as an IANA name."""
    table = {**t.zones, **COMMON_ZONES}
    for name, rx in zip(table.values(), compiled(t, "zones", table), strict=True):
        m = rx.search(text)
        if m:
            return Fact(name, m.group().strip())
    return None


def money(text: str, t: Phrases) -> list[Fact[Money]]:
    """Every amount, with "about" and whether the text calls it the funder's share or a total."""
    found = amounts(text, t)
    out: list[Fact[Money]] = []
    approx = compiled(t, "approx", t.approx)
    for i, a in enumerate(found):
        lo = found[i - 1].end if i else 0
        hi = found[i + 1].start if i + 1 < len(found) else len(text)
        near_at = max(lo, a.start - 25)
        hits = [m for rx in approx if (m := rx.search(text, near_at, a.start))]
        rough = bool(hits) or text[a.end:a.end + 2] == "左右"
        begin = min((m.start() for m in hits), default=a.start)
        share, dist = "", 10**6
        for kind, pats in t.shares.items():
            for rx in compiled(t, "share-" + kind, pats):
                for m in rx.finditer(text, lo, hi):
                    d = a.start - m.end() if m.end() <= a.start else m.start() - a.end
                    if 0 <= d < dist:
                        share, dist = kind, d
        quote = text[begin:a.end + (2 if text[a.end:a.end + 2] == "左右" else 0)].strip()
        out.append(Fact(Money(a.value, a.currency, rough, share), quote))
    return out


def identifiers(text: str) -> list[str]:
    """Official call identifiers (EUROHPC-2024-CEI-AI-01 style), in order, once each."""
    out: list[str] = []
    for m in IDENTIFIER.finditer(text):
        if any(ch.isdigit() for ch in m.group()) and m.group() not in out:
            out.append(m.group())
    return out


def call_name(text: str, t: Phrases) -> Fact[str] | None:
    """The call's name, when the text quotes it or names it as a call."""
    m = _first_match(compiled(t, "call_names", t.call_names, 0), text)
    if not m:
        return None
    name = " ".join(m.group("t").split()).strip(" ,.;:")
    name = re.sub(r"^(?:the|la|le|l['’]|die|der|das)\s*(?=\S)", "", name, flags=re.I)
    name = name[:1].upper() + name[1:]
    if len(name) < 3 or (name.isascii() and len(name.split()) < 2):
        return None
    return Fact(name, m.group().strip(), "medium")


def funder(text: str, t: Phrases) -> Fact[str] | None:
    """Who pays, when the text names a known kind of funding body."""
    m = _first_match(compiled(t, "funders", t.funders, 0), text)
    if not m:
        return None
    name = " ".join(m.group("f").split()).strip(" ,.;:")
    name = re.sub(r"^(?:(?:the|la|die)\s+|l['’]\s*)", "", name, flags=re.I)
    return Fact(name[:1].upper() + name[1:], m.group().strip(), "medium")


def tentative(text: str, t: Phrases) -> bool:
    """True when the sentence says a date is expected or planned rather than fixed."""
    return any(rx.search(text) for rx in compiled(t, "tentative", t.tentative))
