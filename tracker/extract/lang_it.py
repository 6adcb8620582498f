"""Italian phrasings (a first, smaller table: dates, recurrences, conditions, amounts)."""

# Typographic apostrophes, CJK numerals and punctuation are part of the phrasings.
# ruff: noqa: RUF001

from __future__ import annotations

from tracker.extract.tables import Phrases

_Y = r"(?P<y>\d{4})"

IT = Phrases(
    code="it",
    markers=("il", "lo", "gli", "di", "e", "è", "una", "per", "sarà", "bando", "della",
             "delle", "con", "che"),
    months={"gennaio": 1, "febbraio": 2, "marzo": 3, "aprile": 4, "maggio": 5, "giugno": 6,
            "luglio": 7, "agosto": 8, "settembre": 9, "ottobre": 10, "novembre": 11,
            "dicembre": 12},
    numbers={"due": 2, "tre": 3, "quattro": 4, "sei": 6, "dodici": 12, "primo": 1,
             "prima": 1, "secondo": 2, "seconda": 2, "terzo": 3, "terza": 3},
    dates=(
        ("iso", r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b"),
        ("dmy", r"(?P<d>\d{1,2})(?:°|º)?\s+(?P<m>{month})\s+" + _Y),
        ("dm", r"(?P<d>\d{1,2})(?:°|º)?\s+(?P<m>{month})\b"),
        ("end_y", r"(?:entro\s+la\s+)?fine\s+(?:del\s+)?" + _Y),
        ("my", r"(?P<m>{month})\s+" + _Y),
        ("y", r"\b(?:nel|entro\s+il|dal|fino\s+al)\s+" + _Y + r"\b(?![-/])"),
        ("next_year", r"\bil\s+prossimo\s+anno\b|\bl['’]anno\s+prossimo\b"),
        ("today", r"\boggi\b"),
    ),
    roles={"opens": (r"\baperto\b", r"\bapre\b", r"\blanciat[oa]\b"),
           "cutoff": (r"(?:\b(?P<ord>prim[oa]|second[oa]|terz[oa])\s+)?(?:cut-?off|finestra)",),
           "deadline": (r"\bscadenza\b", r"\btermine\b"),
           "closes": (r"\bchiude\b", r"\bchiusura\b"),
           "until": (r"\bfino\s+al\b", r"\bentro\s+il\b")},
    every=(r"\bogni\s+(?:(?P<n>\d+|{num})\s+)?(?P<unit>giorni|settimane|mesi|mese|trimestre)\b",),
    units={"giorni": (1, "days"), "settimane": (1, "weeks"), "mesi": (1, "months"),
           "mese": (1, "months"), "trimestre": (3, "months")},
    periodic={r"\btrimestral[ei]\b": "3 months", r"\bsemestral[ei]\b": "6 months",
              r"\bmensil[ei]\b": "1 month"},
    conditions=(r"fino\s+a(?:d)?\s+esaurimento\s+(?:dei\s+fondi|delle\s+risorse)",
                r"nei\s+limiti\s+delle\s+risorse\s+disponibili"),
    times=(r"\b(?P<h>\d{1,2})[:.](?P<mi>\d{2})\b",),
    zones={r"ora\s+di\s+Bruxelles": "Europe/Brussels", r"ora\s+italiana": "Europe/Rome"},
    scales={"miliardi": 10**9, "miliardo": 10**9, "mld": 10**9, "milioni": 10**6,
            "milione": 10**6, "mln": 10**6},
    currencies={"€": "EUR", "eur": "EUR", "euro": "EUR", "di euro": "EUR", "$": "USD",
                "dollari": "USD", "di dollari": "USD"},
    approx=(r"\bcirca\b", r"\bquasi\b", r"\boltre\b"),
    shares={"funder": (r"\bcontributo\s+(?:dell['’]UE|europeo)\b", r"\bfinanziat[oa]\s+da\b"),
            "total": (r"\bin\s+totale\b", r"\btotale\b", r"\bcomplessiv[oi]\b")},
    tentative=(r"\bprevist[oa]\b", r"\battes[oa]\b"),
    call_names=(r"«\s*(?P<t>[^»]{3,120}?)\s*»", r"[\"“](?P<t>[^\"”]{3,120})[\"”]"),
    funders=(r"(?P<f>(?:la\s+)?Commissione\s+europea|Ministero\s+(?:dell['’]|della\s+|delle\s+|"
             r"per\s+)[\wàèéìòù'’]+(?:\s+[\wàèéìòù'’]+){0,3})",),
    decimal=",",
)
