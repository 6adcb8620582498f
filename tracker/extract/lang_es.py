"""Spanish phrasings (a first, smaller table: dates, recurrences, conditions, amounts)."""

from __future__ import annotations

from tracker.extract.tables import Phrases

_Y = r"(?P<y>\d{4})"

ES = Phrases(
    code="es",
    markers=("el", "la", "los", "las", "de", "y", "es", "una", "para", "será", "convocatoria",
             "del", "con"),
    months={"enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6,
            "julio": 7, "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10,
            "noviembre": 11, "diciembre": 12},
    numbers={"dos": 2, "tres": 3, "cuatro": 4, "seis": 6, "doce": 12, "primer": 1,
             "primera": 1, "segunda": 2, "segundo": 2, "tercera": 3},
    dates=(
        ("iso", r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b"),
        ("dmy", r"(?P<d>\d{1,2})\s+de\s+(?P<m>{month})\s+de\s+" + _Y),
        ("dm", r"(?P<d>\d{1,2})\s+de\s+(?P<m>{month})\b"),
        ("end_y", r"(?:a\s+)?finales\s+de\s+" + _Y),
        ("my", r"(?P<m>{month})\s+de\s+" + _Y),
        ("y", r"\b(?:en|desde|hasta)\s+" + _Y + r"\b(?![-/])"),
        ("next_year", r"\bel\s+próximo\s+año\b"),
        ("today", r"\bhoy\b"),
    ),
    roles={"opens": (r"\babiert[ao]\b", r"\babre\b", r"\blanz(?:a|ó|ada)\b"),
           "cutoff": (r"(?:\b(?P<ord>primer|primera|segunda?o?|tercera?)\s+)?corte",),
           "deadline": (r"\bplazo\b", r"\bfecha\s+límite\b"),
           "closes": (r"\bcierra\b", r"\bcierre\b", r"\bfinaliza\b"),
           "until": (r"\bhasta\s+el\b", r"\bhasta\b")},
    every=(r"\bcada\s+(?:(?P<n>\d+|{num})\s+)?(?P<unit>días|semanas|meses|mes|trimestre)\b",),
    units={"días": (1, "days"), "semanas": (1, "weeks"), "meses": (1, "months"),
           "mes": (1, "months"), "trimestre": (3, "months")},
    periodic={r"\btrimestral(?:es)?\b": "3 months", r"\bsemestral(?:es)?\b": "6 months",
              r"\bmensual(?:es)?\b": "1 month"},
    conditions=(r"hasta\s+(?:el\s+)?agotamiento\s+de(?:\s+los)?\s+fondos",
                r"sujet[oa]\s+a\s+(?:la\s+)?disponibilidad\s+presupuestaria"),
    times=(r"\b(?P<h>\d{1,2}):(?P<mi>\d{2})\b",),
    zones={r"hora\s+de\s+Bruselas": "Europe/Brussels", r"hora\s+peninsular": "Europe/Madrid"},
    scales={"millones": 10**6, "millón": 10**6, "mil millones": 10**9, "m": 10**6},
    currencies={"€": "EUR", "eur": "EUR", "euros": "EUR", "de euros": "EUR", "$": "USD",
                "dólares": "USD", "de dólares": "USD"},
    approx=(r"\bunos\b", r"\bcerca\s+de\b", r"\baproximadamente\b", r"\balrededor\s+de\b"),
    shares={"funder": (r"\bcontribución\s+de\s+la\s+UE\b", r"\bfinanciad[oa]\s+por\b"),
            "total": (r"\ben\s+total\b", r"\btotal\b")},
    tentative=(r"\bprevist[oa]s?\b", r"\besperad[oa]s?\b"),
    call_names=(r"«\s*(?P<t>[^»]{3,120}?)\s*»", r"[\"“](?P<t>[^\"”]{3,120})[\"”]"),
    funders=(r"(?P<f>(?:la\s+)?Comisión\s+Europea|Ministerio\s+de\s+[\wáéíóú]+(?:\s+[\wáéíóú]+)"
             r"{0,3})",),
    decimal=",",
)
