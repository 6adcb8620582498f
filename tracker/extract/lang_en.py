"""English phrasings: months, relative dates, recurrences, conditions, amounts."""

from __future__ import annotations

from tracker.extract.tables import Phrases

_D = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?"
_Y = r"(?P<y>\d{4})"

EN = Phrases(
    code="en",
    markers=("the", "and", "of", "to", "is", "will", "with", "for", "by", "on", "call"),
    months={
        "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
        "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
        "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
        "sept": 9, "oct": 10, "nov": 11, "dec": 12,
    },
    numbers={"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
             "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "first": 1, "second": 2,
             "third": 3, "fourth": 4, "fifth": 5},
    dates=(
        ("iso", r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b"),
        ("dmy", _D + r"(?:\s+of)?\s+(?P<m>{month})\.?,?\s+" + _Y),
        ("dmy", r"(?P<m>{month})\.?\s+" + _D + r",?\s+" + _Y),
        ("dm_next_year", _D + r"(?:\s+of)?\s+(?P<m>{month})\s+next\s+year"),
        ("dm_next_year", r"(?P<m>{month})\s+" + _D + r"\s+next\s+year"),
        ("dm", _D + r"(?:\s+of)?\s+(?P<m>{month})\b"),
        ("dm", r"(?P<m>{month})\s+" + _D + r"\b"),
        ("d_this_month", r"the\s+" + _D + r"\s+of\s+this\s+month"),
        ("end_my", r"(?:the\s+)?end\s+of\s+(?P<m>{month})\s+" + _Y),
        ("end_y", r"(?:by\s+)?the\s+end\s+of\s+" + _Y),
        ("end_this_year", r"(?:by\s+)?the\s+end\s+of\s+(?:the|this)\s+year"),
        ("end_next_year", r"(?:by\s+)?the\s+end\s+of\s+next\s+year"),
        ("my", r"(?P<m>{month})\s+" + _Y),
        ("q", r"\bQ(?P<q>[1-4])\s+" + _Y),
        ("q", r"(?:the\s+)?(?P<qw>first|second|third|fourth)\s+quarter\s+of\s+" + _Y),
        ("y", r"\b(?:in|during|by|from|until|before)\s+" + _Y + r"\b(?![-/])"),
        ("this_year", r"\bthis\s+year\b"),
        ("next_year", r"\bnext\s+year\b"),
        ("next_m", r"\bnext\s+(?P<m>{month})\b"),
        ("last_m", r"\blast\s+(?P<m>{month})\b"),
        ("m", r"\b(?:in|from|until|by)\s+(?P<m>{month})\b"),
        ("today", r"\btoday\b"),
    ),
    roles={
        "opens": (r"\bopen(?:s|ed)?\b", r"\blaunch(?:es|ed)?\b", r"\bstarts?\b",
                  r"\b(?:submitted|accepted|received)\s+from\b"),
        "cutoff": (r"(?:\b(?P<ord>first|second|third|fourth|fifth|next|final|last)\s+)?"
                   r"cut-?offs?(?:\s+date)?",),
        "deadline": (r"(?:\b(?P<ord>first|second|third|fourth|fifth)\s+)?deadlines?",
                     r"\bno\s+later\s+than\b"),
        "closes": (r"\bclos(?:es|ed|ing|e)\b", r"\bends?\b", r"\bopen\s+until\b"),
        "until": (r"\buntil\b", r"\bup\s+to\b", r"\bthrough\b"),
    },
    every=(r"\bevery\s+(?:(?P<n>\d+|{num})\s+)?(?P<unit>days?|weeks?|months?|quarters?|years?)\b",),
    units={"day": (1, "days"), "week": (1, "weeks"), "month": (1, "months"),
           "quarter": (3, "months"), "year": (12, "months")},
    periodic={r"\bquarterly\b": "3 months", r"\bmonthly\b": "1 month",
              r"\b(?:twice\s+a\s+year|half-yearly|semi-annually|biannually)\b": "6 months",
              r"\bannually\b|\bonce\s+a\s+year\b": "12 months"},
    conditions=(
        r"subject\s+to\s+(?:the\s+)?(?:available\s+(?:budget|funds|funding)|"
        r"(?:the\s+)?availability\s+of\s+(?:the\s+)?(?:budget|funds|funding))",
        r"(?:as\s+long\s+as|while)\s+(?:the\s+)?(?:funds|budget|money)\s+(?:are|is|remains?)\s+"
        r"available",
        r"while\s+(?:the\s+)?(?:funds|budget|money)\s+lasts?",
        r"until\s+the\s+(?:budget|funds?)\s+(?:is|are)\s+(?:used\s+up|exhausted|spent)",
    ),
    times=(r"\b(?P<h>\d{1,2})(?::(?P<mi>\d{2}))?\s*(?P<ap>a\.?\s?m\.?|p\.?\s?m\.?)(?!\w)",
           r"\b(?P<h>\d{1,2}):(?P<mi>\d{2})\b",
           r"\b(?P<noon>noon|midday)\b"),
    zones={r"Brussels\s+time": "Europe/Brussels", r"Central\s+European\s+(?:Summer\s+)?Time":
           "Europe/Brussels", r"Paris\s+time": "Europe/Paris", r"London\s+time": "Europe/London",
           r"Eastern\s+Time": "America/New_York", r"Beijing\s+time": "Asia/Shanghai"},
    scales={"trillion": 10**12, "billion": 10**9, "bn": 10**9, "million": 10**6, "mn": 10**6,
            "m": 10**6, "thousand": 10**3, "k": 10**3},
    currencies={"€": "EUR", "eur": "EUR", "euros": "EUR", "euro": "EUR", "us$": "USD",
                "$": "USD", "usd": "USD", "us dollars": "USD", "dollars": "USD", "£": "GBP",
                "gbp": "GBP", "pounds": "GBP", "chf": "CHF", "swiss francs": "CHF",
                "cny": "CNY", "rmb": "CNY", "yuan": "CNY", "jpy": "JPY", "yen": "JPY"},
    approx=(r"\babout\b", r"\baround\b", r"\bapproximately\b", r"\bsome\b", r"\bnearly\b",
            r"\balmost\b", r"\bclose\s+to\b", r"\broughly\b"),
    shares={"funder": (r"\bEU\s+(?:contribution|funding|share)\b", r"\bcontribut(?:e|es|ion|ing)\b",
                       r"\bfunded\s+by\b", r"\bof\s+which\b", r"\bshare\b"),
            "total": (r"\bin\s+total\b", r"\btotal\b", r"\boverall\b", r"\baltogether\b")},
    tentative=(r"\bexpected\b", r"\bplanned\b", r"\bscheduled\b", r"\blikely\b",
               r"\bshould\b", r"\bforeseen\b", r"\bindicative(?:ly)?\b"),
    call_names=(
        r"[\"“](?P<t>[^\"”]{3,90}\b[Cc]all\b[^\"”]{0,60})[\"”]",
        r"(?P<t>(?:[A-Z][\w-]*\s+){1,6}[Cc]all\s+for\s+(?:[Pp]roposals|[Ee]xpressions?\s+of\s+"
        r"[Ii]nterest|[Aa]pplications|[Tt]enders))",
        r"(?P<t>(?:[A-Z][\w-]*\s+){1,6}[Cc]all)\b",
    ),
    funders=(
        r"(?P<f>(?:European|National|Federal)\s+(?:[A-Z][\w-]*\s+){0,4}"
        r"(?:Commission|Agency|Council|Foundation|Fund|Bank))",
        r"(?P<f>(?:[A-Z][\w-]*\s+){1,5}(?:Joint\s+Undertaking|Agency|Foundation|Ministry|"
        r"Council|Fund|Bank|Authority)(?:\s+(?:of|for)\s+(?:[A-Z][\w-]*\s?){1,4})?)",
        r"\bfunded\s+by\s+(?:the\s+)?(?P<f>(?:[A-Z][\w-]*\s?){1,6})",
    ),
)
