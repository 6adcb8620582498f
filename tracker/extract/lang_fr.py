"""French phrasings: months, relative dates, recurrences, conditions, amounts."""

# Typographic apostrophes, CJK numerals and punctuation are part of the phrasings.
# ruff: noqa: RUF001

from __future__ import annotations

from tracker.extract.tables import Phrases

_D = r"(?P<d>\d{1,2})(?:er|e)?"
_Y = r"(?P<y>\d{4})"

FR = Phrases(
    code="fr",
    markers=("le", "la", "les", "des", "du", "et", "est", "une", "pour", "sera", "appel",
             "dans", "sur", "au", "aux"),
    months={
        "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
        "juillet": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
        "décembre": 12, "decembre": 12, "janv": 1, "févr": 2, "avr": 4, "juil": 7, "sept": 9,
        "oct": 10, "nov": 11, "déc": 12,
    },
    numbers={"un": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7,
             "huit": 8, "neuf": 9, "dix": 10, "douze": 12, "premier": 1, "première": 1,
             "premiere": 1, "deuxième": 2, "deuxieme": 2, "second": 2, "seconde": 2,
             "troisième": 3, "troisieme": 3, "quatrième": 4, "cinquième": 5},
    dates=(
        ("iso", r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b"),
        ("dmy", _D + r"\s+(?P<m>{month})\.?\s+" + _Y),
        ("dm_next_year", _D + r"\s+(?P<m>{month})\s+de\s+l['’]année\s+prochaine"),
        ("dm_next_year", _D + r"\s+(?P<m>{month})\s+prochain(?!e)"),
        ("dm", _D + r"\s+(?P<m>{month})\b"),
        ("d_this_month", r"\ble\s+" + _D + r"\s+(?:de\s+ce\s+mois|du\s+mois(?:\s+en\s+cours)?)"),
        ("end_my", r"\bfin\s+(?:(?:de\s+|d['’]))?(?P<m>{month})\s+" + _Y),
        ("end_y", r"(?:d['’]ici\s+(?:à\s+)?)?(?:la\s+)?fin\s+(?:de\s+l['’]année\s+)?" + _Y),
        ("end_this_year", r"(?:d['’]ici\s+(?:à\s+)?)?(?:la\s+)?fin\s+(?:de\s+l['’]année|"
                          r"d'année)(?!\s+(?:\d|prochaine))"),
        ("end_next_year", r"(?:d['’]ici\s+(?:à\s+)?)?(?:la\s+)?fin\s+de\s+l['’]année\s+prochaine"),
        ("my", r"(?P<m>{month})\s+" + _Y),
        ("q", r"\b(?P<qw>premier|1er|deuxième|2e|troisième|3e|quatrième|4e)\s+trimestre\s+"
              r"(?:de\s+)?" + _Y),
        ("q", r"\bT(?P<q>[1-4])\s+" + _Y),
        ("y", r"\b(?:en|d['’]ici|dès|à\s+partir\s+de|courant)\s+" + _Y + r"\b(?![-/])"),
        ("this_year", r"\bcette\s+année\b"),
        ("next_year", r"\bl['’]année\s+prochaine\b"),
        ("next_m", r"\b(?:en\s+)?(?P<m>{month})\s+prochain\b"),
        ("last_m", r"\b(?:en\s+)?(?P<m>{month})\s+dernier\b"),
        ("m", r"\b(?:en|dès|courant|d['’]ici)\s+(?P<m>{month})\b"),
        ("today", r"\baujourd['’]hui\b"),
    ),
    roles={
        "opens": (r"\bouvert(?:e|s|es)?\b", r"\bouvre\b", r"\blanc(?:é|ée|ement)\b",
                  r"\bs['’]ouvre\b", r"\bà\s+partir\s+du\b"),
        "cutoff": (r"(?:\b(?P<ord>premi[eè]re?|deuxi[eè]me|seconde?|troisi[eè]me|quatri[eè]me|"
                   r"prochaine|derni[eè]re)\s+)?(?:relève|relevé|date\s+de\s+relève|"
                   r"clôture\s+intermédiaire)",),
        "deadline": (r"(?:\b(?P<ord>premi[eè]re?|deuxi[eè]me|seconde?|troisi[eè]me)\s+)?"
                     r"(?:date\s+limite|date\s+butoir|échéance)",
                     r"\bau\s+plus\s+tard\b", r"\bdéposer\b", r"\bdépôt\b"),
        "closes": (r"\bclôtur(?:e|é|ée|era)\b", r"\bferm(?:e|era|ée)\b", r"\bse\s+termine\b",
                   r"\bprend\s+fin\b", r"\bclôture\b"),
        "until": (r"\bjusqu['’](?:au|à|a)\b",),
    },
    every=(r"\btous\s+les\s+(?:(?P<n>\d+|{num})\s+)?(?P<unit>jours|semaines|mois|trimestres|"
           r"semestres|ans)\b",
           r"\bchaque\s+(?P<unit>jour|semaine|mois|trimestre|semestre|année)\b"),
    units={"jour": (1, "days"), "jours": (1, "days"), "semaine": (1, "weeks"),
           "semaines": (1, "weeks"), "mois": (1, "months"), "trimestre": (3, "months"),
           "trimestres": (3, "months"), "semestre": (6, "months"), "semestres": (6, "months"),
           "ans": (12, "months"), "année": (12, "months")},
    periodic={r"\btrimestriel(?:le)?s?\b": "3 months", r"\bsemestriel(?:le)?s?\b": "6 months",
              r"\bmensuel(?:le)?s?\b": "1 month", r"\bbimestriel(?:le)?s?\b": "2 months",
              r"\bannuel(?:le)?s?\b": "12 months"},
    conditions=(
        r"sous\s+réserve\s+(?:des|de\s+la\s+disponibilité\s+des)\s+(?:crédits|fonds)"
        r"(?:\s+disponibles)?",
        r"dans\s+la\s+limite\s+des\s+(?:fonds|crédits|budgets?)(?:\s+disponibles)?",
        r"jusqu['’]à\s+épuisement\s+(?:des\s+fonds|du\s+budget|des\s+crédits|de\s+l['’]enveloppe)",
        r"tant\s+que\s+(?:des|les)\s+(?:fonds|crédits)\s+(?:sont|restent|seront)\s+disponibles",
    ),
    times=(r"\b(?P<h>\d{1,2})\s?h\s?(?P<mi>\d{2})?\b", r"\b(?P<h>\d{1,2}):(?P<mi>\d{2})\b",
           r"\b(?P<noon>midi)\b"),
    zones={r"heure\s+de\s+Bruxelles": "Europe/Brussels", r"heure\s+de\s+Paris": "Europe/Paris",
           r"heure\s+(?:d['’]Europe\s+centrale|de\s+l['’]Europe\s+centrale)": "Europe/Brussels",
           r"heure\s+de\s+Montréal": "America/Toronto"},
    scales={"milliards": 10**9, "milliard": 10**9, "mds": 10**9, "md": 10**9, "mrd": 10**9,
            "millions": 10**6, "million": 10**6, "mio": 10**6, "m": 10**6, "mille": 10**3},
    currencies={"€": "EUR", "eur": "EUR", "euros": "EUR", "euro": "EUR", "d'euros": "EUR",
                "d’euros": "EUR", "$": "USD", "usd": "USD", "dollars": "USD", "de dollars": "USD",
                "£": "GBP", "livres": "GBP", "chf": "CHF", "francs suisses": "CHF",
                "de francs suisses": "CHF", "cad": "CAD", "$ ca": "CAD",
                "dollars canadiens": "CAD", "de dollars canadiens": "CAD"},
    approx=(r"\benviron\b", r"\bprès\s+de\b", r"\bquelque\b", r"\bautour\s+de\b",
            r"\bapproximativement\b", r"\bpresque\b"),
    shares={"funder": (r"\bcontribution\s+(?:de\s+l['’](?:UE|Union)|européenne)\b",
                       r"\bfinancement\s+européen\b", r"\bpart\s+de\s+l['’]UE\b",
                       r"\bfinancé(?:e|s)?\s+par\b", r"\bdont\b"),
              "total": (r"\bau\s+total\b", r"\btotal(?:e)?\b", r"\benveloppe\s+globale\b",
                        r"\bau\s+global\b")},
    tentative=(r"\bprévu(?:e|s|es)?\b", r"\battendu(?:e|s|es)?\b", r"\bdevrai(?:t|ent)\b",
               r"\bdevr(?:a|ont)\b", r"\bindicati(?:f|ve)\b", r"\benvisagé(?:e)?\b"),
    call_names=(
        r"«\s*(?P<t>[^»]{3,120}?)\s*»",
        r"(?P<t>[Aa]ppel\s+(?:à\s+(?:projets|candidatures|manifestations?\s+d['’]intérêt)|"
        r"d['’]offres)(?:\s+[A-Z«][\w'’« -]{2,60}?)?)(?=[,.;:]|\s+(?:est|sera|a|ouvert|lancé))",
    ),
    funders=(
        r"(?P<f>(?:la\s+)?Commission\s+européenne|Bpifrance|Agence\s+nationale\s+de\s+la\s+"
        r"recherche|[Ee]ntreprise\s+commune\s+[A-Z][\w-]+|[Mm]inistère\s+(?:de\s+l['’]|des\s+|"
        r"du\s+|de\s+la\s+)[A-ZÉ][\w'’-]+(?:\s+[a-zé][\w-]+)?(?:\s+et\s+(?:de\s+la\s+|du\s+|"
        r"des\s+|de\s+l['’])[A-ZÉ][\w'’-]+(?:\s+[a-zé][\w-]+)?)?|Région\s+[A-Z][\w-]+(?:-[A-Z][\w-]+)*)",
    ),
    decimal=",",
)
