"""Announcement text: HTML, Markdown and front matter to plain text, and sentences."""

# Typographic apostrophes, CJK numerals and punctuation are part of the phrasings.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser

from tracker.errors import UsageError

_FRONT = re.compile(r"\A\ufeff?---[ \t]*\n(?P<body>.*?)\n---[ \t]*\n", re.S)
_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
               "table", "section", "article", "header", "footer", "blockquote", "title"}
_SKIP_TAGS = {"script", "style", "head", "nav", "noscript"}


@dataclass(frozen=True)
class Document:
    """An announcement as plain text, with what its front matter or markup said about it."""

    text: str
    title: str = ""
    published: date | None = None
    url: str = ""


@dataclass(frozen=True)
class Sentence:
    """One sentence of the plain text, and where it starts in it."""

    text: str
    start: int


class _Stripper(HTMLParser):
    """Collects the text of an HTML page: block tags become line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.heading: list[str] = []
        self._skip = 0
        self._in: list[str] = []

    def handle_starttag(self, tag: str, _attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS and tag != "head":
            self._skip += 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and tag != "head" and self._skip:
            self._skip -= 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in and self._in[-1] == "title":
            self.title.append(data)
        if self._in and self._in[-1] == "h1":
            self.heading.append(data)
        if not (self._in and self._in[-1] == "title"):
            self.parts.append(data)


def _front_matter(raw: str) -> tuple[str, dict[str, str]]:
    m = _FRONT.match(raw)
    if not m:
        return raw, {}
    fields: dict[str, str] = {}
    for line in m.group("body").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            fields[key.strip().lower()] = value.strip().strip("\"'")
    return raw[m.end():], fields


def _markdown(text: str) -> tuple[str, str]:
    title = ""
    h = re.search(r"^#{1,2}\s+(.+)$", text, re.M)
    if h:
        title = h.group(1).strip()
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"^#{1,6}\s+(.+)$", r"\1\n", text, flags=re.M)
    text = re.sub(r"^\s*(?:[-*+]|\d+\.)\s+", "", text, flags=re.M)
    text = re.sub(r"(\*\*|__|\*|`)(\S(?:.*?\S)?)\1", r"\2", text)
    return text, title


def read(raw: str) -> Document:
    """Plain text of an announcement (text, Markdown or HTML), its title, day and URL."""
    body, fields = _front_matter(raw)
    published = None
    if fields.get("date"):
        try:
            published = date.fromisoformat(fields["date"][:10])
        except ValueError:
            raise UsageError(f"front matter date '{fields['date']}' is not a date; "
                             "use date: YYYY-MM-DD") from None
    if re.search(r"<(?:html|body|p|div|h1|h2|br|span|article)\b", body, re.I):
        parser = _Stripper()
        parser.feed(body)
        text = "".join(parser.parts)
        title = " ".join("".join(parser.title or parser.heading).split())
    else:
        text, title = _markdown(body)
    text = unicodedata.normalize("NFKC", html.unescape(text))
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" ?\n ?", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    title = fields.get("title", "") or unicodedata.normalize("NFKC", title)
    return Document(text, title, published, fields.get("url", "") or fields.get("source", ""))


# A sentence ends at . ! ? followed by a space, unless the dot ends a number ("12. März") or
# a known abbreviation ("1,5 Mrd. Euro"); at 。！？；; and at blank lines.
_ABBREV = ("Mrd", "Mio", "Tsd", "ca", "Nr", "bzw", "vgl", "etc", "Dr", "Mr", "Ms", "St",
           "No", "approx", "janv", "févr", "avr", "juil", "sept", "oct", "nov", "déc", "Jan",
           "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Okt", "Dez")
_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？；!?])|\n\s*\n|\n(?=\s*[-*#])")


def sentences(text: str) -> list[Sentence]:
    """The text cut into sentences, each with its offset."""
    out: list[Sentence] = []
    start = 0
    for m in _END.finditer(text):
        before = text[start:m.start()]
        last = re.search(r"(\S+)\.$", before)
        if m.group().strip() == "" and m.start() > 0 and text[m.start() - 1] == "." and last:
            word = last.group(1)
            if re.fullmatch(r"\d{1,2}", word) or word.split(".")[-1] in _ABBREV or len(word) == 1:
                continue
        piece = text[start:m.start()]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            out.append(Sentence(piece.strip(), start + lead))
        start = m.end()
    if text[start:].strip():
        piece = text[start:]
        out.append(Sentence(piece.strip(), start + len(piece) - len(piece.lstrip())))
    return out
