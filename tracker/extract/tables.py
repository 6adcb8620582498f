"""The shape of a language's table of phrasings, the registry of tables, language detection."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from tracker.errors import UsageError

# Date kinds a table's `dates` patterns may produce; dates.py gives each its meaning.
# Groups: d (day), m (month name or number), y (year), q / qw (quarter number or word).
DATE_KINDS = (
    "dmy", "dm", "dm_next_year", "d_this_month", "my", "end_my", "end_y", "end_this_year",
    "end_next_year", "q", "y", "this_year", "next_year", "m", "next_m", "last_m",
    "m_next_year", "m_last_year", "today", "iso",
)


@dataclass(frozen=True)
class Phrases:
    """One language's phrasings: every word and pattern the extractor knows for it."""

    code: str
    markers: tuple[str, ...]  # frequent words that tell this language from the others
    months: Mapping[str, int]  # month names and abbreviations, lower case
    numbers: Mapping[str, int]  # number words used in recurrences and ordinals
    dates: tuple[tuple[str, str], ...]  # (kind, regex); "{month}" and "{num}" are filled in
    roles: Mapping[str, tuple[str, ...]]  # role -> keyword regexes; optional group "ord"
    every: tuple[str, ...]  # "every N units": groups n (optional) and unit
    units: Mapping[str, tuple[int, str]]  # unit word -> (multiplier, "days"/"weeks"/"months")
    periodic: Mapping[str, str]  # "quarterly" -> "3 months"
    conditions: tuple[str, ...]  # budget conditions that make later cut-offs tentative
    times: tuple[str, ...]  # groups h, mi (optional), ap (optional: am/pm words)
    zones: Mapping[str, str]  # zone words -> IANA zone
    scales: Mapping[str, int]  # "billion" -> 10**9
    currencies: Mapping[str, str]  # currency words and signs -> ISO 4217
    approx: tuple[str, ...]  # "about", "environ": the amount is approximate
    shares: Mapping[str, tuple[str, ...]]  # "funder" / "total" -> cue regexes
    tentative: tuple[str, ...]  # "expected", "prévu": a milestone is not firm
    call_names: tuple[str, ...]  # case-sensitive regexes with group t: the call's name
    funders: tuple[str, ...]  # regexes with group f: who pays
    decimal: str = "."  # decimal separator of amounts
    verb_after: bool = False  # role words may follow the date ("2025年12月31日截止")
    pm_words: tuple[str, ...] = field(default=("pm", "p.m.", "p. m."))


# Zone words every language shares.
COMMON_ZONES: Mapping[str, str] = {
    r"\bCEST\b": "Europe/Brussels",
    r"\bCET\b": "Europe/Brussels",
    r"\bUTC\b": "UTC",
    r"\bGMT\b": "Europe/London",
    r"\bEST\b|\bEDT\b": "America/New_York",
}

LANGS = ("en", "fr", "de", "es", "it", "zh")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_TRADITIONAL = set("億個資歐與為臺灣會這們時間關於際發開將動實報歲")


@cache
def table(code: str) -> Phrases:
    """The table of phrasings of a language code ("zh-Hant" uses the "zh" table)."""
    base = code.split("-")[0].lower()
    if base == "en":
        from tracker.extract.lang_en import EN
        return EN
    if base == "fr":
        from tracker.extract.lang_fr import FR
        return FR
    if base == "de":
        from tracker.extract.lang_de import DE
        return DE
    if base == "es":
        from tracker.extract.lang_es import ES
        return ES
    if base == "it":
        from tracker.extract.lang_it import IT
        return IT
    if base == "zh":
        from tracker.extract.lang_zh import ZH
        return ZH
    raise UsageError(f"unknown language '{code}': use auto, {', '.join(LANGS)}")


def detect(text: str) -> str:
    """The language of a text: "zh-Hans", "zh-Hant", or the Latin-script table it fits best."""
    cjk = _CJK.findall(text)
    if len(cjk) > max(10, len(text) // 20):
        trad = sum(1 for ch in cjk if ch in _TRADITIONAL)
        return "zh-Hant" if trad >= 2 else "zh-Hans"
    words = re.findall(r"[a-zà-ÿ']+", text.lower())
    best, score = "en", 0
    for code in ("en", "fr", "de", "es", "it"):
        marks = set(table(code).markers)
        n = sum(1 for w in words if w in marks)
        if n > score:
            best, score = code, n
    return best


def resolve(lang: str, text: str) -> tuple[str, Phrases]:
    """The language code to report and its table, for --lang (auto, en, fr, ...)."""
    code = detect(text) if lang == "auto" else lang
    return code, table(code)
