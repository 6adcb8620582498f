"""German phrasings: months, relative dates, recurrences, conditions, amounts."""

from __future__ import annotations

from tracker.extract.tables import Phrases

_D = r"(?P<d>\d{1,2})\."
_Y = r"(?P<y>\d{4})"

DE = Phrases(
    code="de",
    markers=("der", "die", "das", "und", "ist", "wird", "mit", "für", "von", "den", "im",
             "ein", "eine", "bis", "zum"),
    months={
        "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "maerz": 3, "april": 4, "mai": 5,
        "juni": 6, "juli": 7, "august": 8, "september": 9, "oktober": 10, "november": 11,
        "dezember": 12, "jan": 1, "feb": 2, "mär": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8,
        "sep": 9, "sept": 9, "okt": 10, "nov": 11, "dez": 12,
    },
    numbers={"ein": 1, "einen": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6,
             "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "zwölf": 12, "erste": 1,
             "ersten": 1, "erster": 1, "zweite": 2, "zweiten": 2, "zweiter": 2, "dritte": 3,
             "dritten": 3, "dritter": 3, "vierte": 4, "vierten": 4},
    dates=(
        ("iso", r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b"),
        ("dmy", r"\b" + _D + r"\s*(?P<m>{month})\.?\s+" + _Y),
        ("dmy", r"\b" + _D + r"\s*(?P<m>\d{1,2})\.\s*" + _Y + r"\b"),
        ("dm_next_year", r"\b" + _D + r"\s*(?P<m>{month})\s+(?:des\s+)?nächsten\s+Jahres"),
        ("dm", r"\b" + _D + r"\s*(?P<m>{month})\b"),
        ("d_this_month", r"\b(?:am\s+)?" + _D + r"\s+(?:dieses|des\s+laufenden)\s+Monats"),
        ("end_my", r"\bEnde\s+(?P<m>{month})\s+" + _Y),
        ("end_y", r"\b(?:bis\s+)?Ende\s+(?:des\s+Jahres\s+)?" + _Y),
        ("end_this_year", r"\b(?:bis\s+)?(?:zum\s+)?(?:Jahresende|Ende\s+(?:dieses|des)\s+"
                          r"Jahres)(?!\s+\d)"),
        ("end_next_year", r"\b(?:bis\s+)?Ende\s+(?:des\s+)?nächsten\s+Jahres"),
        ("my", r"(?P<m>{month})\s+" + _Y),
        ("q", r"\b(?P<qw>ersten|zweiten|dritten|vierten|1\.|2\.|3\.|4\.)\s+Quartal\s+"
              r"(?:des\s+Jahres\s+)?" + _Y),
        ("q", r"\bQ(?P<q>[1-4])\s+" + _Y),
        ("y", r"\b(?:im\s+Jahr(?:e)?|ab|bis|seit|in)\s+" + _Y + r"\b(?![-/])"),
        ("this_year", r"\b(?:dieses|in\s+diesem)\s+Jahr(?:es)?\b"),
        ("next_year", r"\b(?:nächstes|im\s+nächsten)\s+Jahr\b"),
        ("next_m", r"\b(?:im\s+)?(?:nächsten|kommenden)\s+(?P<m>{month})\b"),
        ("last_m", r"\b(?:im\s+)?(?:vergangenen|letzten)\s+(?P<m>{month})\b"),
        ("m", r"\b(?:im|ab|bis|Anfang|Mitte)\s+(?P<m>{month})\b"),
        ("today", r"\bheute\b"),
    ),
    roles={
        "opens": (r"\bstartet\b", r"\böffnet\b", r"\bgeöffnet\b", r"\bbeginnt\b",
                  r"\bveröffentlicht\b", r"\bab\s+(?:dem|sofort)\b"),
        "cutoff": (r"(?:\b(?P<ord>erste[rn]?|zweite[rn]?|dritte[rn]?|vierte[rn]?|nächste[rn]?|"
                   r"letzte[rn]?)\s+)?(?:Stichtag|Einreichungsstichtag|Bewertungsrunde)",),
        "deadline": (r"(?:\b(?P<ord>erste[rn]?|zweite[rn]?|dritte[rn]?)\s+)?"
                     r"(?:Frist|Einreichungsfrist|Antragsfrist|Einsendeschluss|Bewerbungsschluss"
                     r"|Abgabefrist)",
                     r"\bspätestens\b", r"\beinzureichen\b", r"\beingereicht\b"),
        "closes": (r"\bendet\b", r"\bschließt\b", r"\bgeschlossen\b", r"\bläuft\s+bis\b"),
        "until": (r"\bbis\s+(?:zum|einschließlich)\b", r"\bbis\b"),
    },
    every=(r"\balle\s+(?:(?P<n>\d+|{num})\s+)?(?P<unit>Tage|Wochen|Monate|Quartale|Jahre)\b",
           r"\bjede[nsr]?\s+(?P<unit>Tag|Woche|Monat|Quartal|Jahr)\b"),
    units={"tag": (1, "days"), "tage": (1, "days"), "woche": (1, "weeks"),
           "wochen": (1, "weeks"), "monat": (1, "months"), "monate": (1, "months"),
           "quartal": (3, "months"), "quartale": (3, "months"), "jahr": (12, "months"),
           "jahre": (12, "months")},
    periodic={r"\b(?:vierteljährlich|quartalsweise)\b": "3 months",
              r"\b(?:halbjährlich|halbjährig)\b": "6 months", r"\bmonatlich\b": "1 month",
              r"\bzweimonatlich\b": "2 months", r"\bjährlich\b": "12 months"},
    conditions=(
        r"vorbehaltlich\s+(?:verfügbarer|der\s+verfügbaren)\s+(?:Haushalts)?mittel",
        r"solange\s+(?:die\s+)?(?:Haushalts)?mittel\s+(?:verfügbar\s+sind|vorhanden\s+sind|"
        r"reichen)",
        r"im\s+Rahmen\s+der\s+verfügbaren\s+(?:Haushalts)?mittel",
        r"bis\s+(?:zur\s+Ausschöpfung\s+der\s+Mittel|die\s+Mittel\s+ausgeschöpft\s+sind)",
    ),
    times=(r"\b(?P<h>\d{1,2})(?:[.:](?P<mi>\d{2}))?\s*Uhr\b", r"\b(?P<h>\d{1,2}):(?P<mi>\d{2})\b",
           r"\b(?P<noon>mittags)\b"),
    zones={r"Brüsseler\s+(?:Orts)?zeit": "Europe/Brussels", r"\bMESZ\b": "Europe/Berlin",
           r"\bMEZ\b": "Europe/Berlin", r"deutscher\s+Zeit": "Europe/Berlin",
           r"Wiener\s+Zeit": "Europe/Vienna", r"Schweizer\s+Zeit": "Europe/Zurich"},
    scales={"milliarden": 10**9, "milliarde": 10**9, "mrd": 10**9, "millionen": 10**6,
            "million": 10**6, "mio": 10**6, "tausend": 10**3, "tsd": 10**3},
    currencies={"€": "EUR", "eur": "EUR", "euro": "EUR", "$": "USD", "usd": "USD",
                "us-dollar": "USD", "dollar": "USD", "£": "GBP", "pfund": "GBP", "chf": "CHF",
                "franken": "CHF", "schweizer franken": "CHF"},
    approx=(r"\brund\b", r"\betwa\b", r"\bca\.", r"\bcirca\b", r"\bknapp\b", r"\bfast\b",
            r"\bungefähr\b"),
    shares={"funder": (r"\bEU-(?:Beitrag|Anteil|Mittel|Förderung)\b", r"\bBeitrag\s+der\s+EU\b",
                       r"\bdavon\b", r"\bgefördert\s+(?:durch|von)\b", r"\bAnteil\b"),
            "total": (r"\binsgesamt\b", r"\bGesamt(?:budget|volumen|summe|mittel)\b",
                      r"\bzusammen\b")},
    tentative=(r"\bvoraussichtlich\b", r"\bgeplant\b", r"\berwartet\b", r"\bsoll(?:en)?\b",
               r"\bvorgesehen\b"),
    call_names=(r"„(?P<t>[^“”]{3,120})[“”]", r"»(?P<t>[^«]{3,120})«",
                r"(?P<t>(?:Ausschreibung|Förderaufruf|Aufruf)\s+[A-Z][\w-]+(?:\s+[A-Z][\w-]+){0,4})"),
    funders=(
        r"(?P<f>(?:die\s+)?Europäische\s+Kommission|EU-Kommission|Bundesministerium\s+(?:für|"
        r"der|des)\s+[\wäöüß-]+(?:\s+(?:und|für)\s+[\wäöüß-]+)*|Deutsche\s+Forschungs"
        r"gemeinschaft|[A-Z][\w-]+\s+Joint\s+Undertaking|Gemeinsame\s+Unternehmen\s+[A-Z][\w-]+)",
    ),
    decimal=",",
)
