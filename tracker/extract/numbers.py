"""Numbers and amounts: "EUR 2.5 billion", "1,5 Mrd. Euro", "30亿欧元", "五十億美元"."""

# Typographic apostrophes, CJK numerals and punctuation are part of the phrasings.
# ruff: noqa: RUF001

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from tracker.extract.tables import Phrases

_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
CN_NUMERAL = "〇零一二两兩三四五六七八九十百千万萬亿億"


@dataclass(frozen=True)
class Amount:
    """An amount of money found in the text."""

    value: int
    currency: str
    quote: str
    start: int
    end: int


def cn_int(s: str) -> int | None:
    """The value of a Chinese or Arabic numeral ("十二", "二〇二七", "两千", "12"), or None."""
    s = s.strip()
    if s.isdigit():
        return int(s)
    if not s or any(ch not in _CN_DIGITS and ch not in _CN_UNITS and ch not in _CN_BIG
                    for ch in s):
        return None
    if all(ch in _CN_DIGITS for ch in s):  # digit by digit: 二〇二七
        return int("".join(str(_CN_DIGITS[ch]) for ch in s))
    total, section, digit = 0, 0, 0
    for ch in s:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            section += (digit or 1) * _CN_UNITS[ch]
            digit = 0
        else:
            total = (total + section + digit) * _CN_BIG[ch]
            section = digit = 0
    return total + section + digit


def word_int(word: str | None, t: Phrases) -> int | None:
    """A number written in digits, in words of the table, or in Chinese numerals."""
    if word is None:
        return None
    w = word.strip().lower()
    if w in t.numbers:
        return t.numbers[w]
    return cn_int(w)


def decimal_of(num: str, t: Phrases) -> Decimal | None:
    """A written number: "2.5", "1,5", "1 000 000", "1.200" (German thousands), "2.5亿"."""
    s = num.replace(" ", "")
    head = re.match(r"[\d.,]*", s)
    digits = head.group() if head else ""
    rest = s[len(digits):]
    if not digits:
        whole = cn_int(rest)
        return None if whole is None else Decimal(whole)
    for sep in ".,":
        if sep in digits:
            last = digits.rsplit(sep, 1)[1]
            if sep != t.decimal and len(last) == 3:
                digits = digits.replace(sep, "")
            elif digits.count(sep) == 1:
                digits = digits.replace(sep, "_DEC_")
            else:
                digits = digits.replace(sep, "")
    digits = digits.replace(",", "").replace(".", "").replace("_DEC_", ".")
    try:
        value = Decimal(digits)
    except InvalidOperation:
        return None
    for ch in rest:
        if ch not in _CN_BIG:
            return None
        value *= _CN_BIG[ch]
    return value


def _alt(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _amount_re(t: Phrases) -> re.Pattern[str]:
    if t.code not in _COMPILED:
        _COMPILED[t.code] = _compile(t)
    return _COMPILED[t.code]


_COMPILED: dict[str, re.Pattern[str]] = {}


def _compile(t: Phrases) -> re.Pattern[str]:
    cur = _alt(list(t.currencies))
    scale = _alt(list(t.scales))
    num = r"\d{1,3}(?:[ .,]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
    if t.code == "zh":
        num = rf"(?:\d+(?:\.\d+)?|[{CN_NUMERAL}]+)(?:\s?[{CN_NUMERAL}]+)?"
        return re.compile(rf"(?:(?P<cur1>{cur})\s*)?(?P<num>{num})\s*(?P<cur2>{cur})?", re.I)
    return re.compile(
        rf"(?:(?<![\w])(?P<cur1>{cur})\s?)?(?P<num>{num})(?![\d])\s?(?:(?P<scale>{scale})(?![\w]))?"
        rf"\.?\s?(?:(?P<cur2>{cur})(?![\w]))?", re.I)


def amounts(text: str, t: Phrases) -> list[Amount]:
    """Every amount with a currency in a text, with its value in units of that currency."""
    out: list[Amount] = []
    for m in _amount_re(t).finditer(text):
        code = m.group("cur1") or m.group("cur2")
        if not code:
            continue
        value = decimal_of(m.group("num"), t)
        if value is None or value == 0:
            continue
        scale = m.groupdict().get("scale")
        if scale:
            value *= t.scales[scale.lower()]
        end = m.end() if m.group("cur2") else m.end("scale") if scale else m.end("num")
        out.append(Amount(int(value), t.currencies[code.lower()], text[m.start():end].strip(),
                          m.start(), end))
    return out
