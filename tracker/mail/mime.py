"""The RFC 5322 message, built once per distinct content and stamped for each reader.

Everyone whose digest says the same thing gets the same bytes except three holes: the To
address, the Message-ID and the unsubscribe token (in the body's links and in the
List-Unsubscribe header). The message is built with placeholders of the same length and the
same kind of characters as the real values, so quoted-printable wraps the lines the same way;
filling the holes is slicing bytes.
"""

from __future__ import annotations

import binascii
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from urllib.parse import quote

TOKEN_HOLE = "zTrackerUnsubscribeTokenHole0000"  # as long as subscribers.new_token()'s
RECIPIENT_HOLE = "recipient.hole@tracker.invalid"
MESSAGE_ID_HOLE = "<message-id.hole@tracker.invalid>"
_SOFT_BREAK = b"=\r\n"
_TOKEN = re.compile(b"(?:=\r\n)?".join(re.escape(bytes([c])) for c in TOKEN_HOLE.encode()))
_CRLF = "\r\n"


def message(sender: str, recipient: str, subject_line: str, text: str, html: str,
            ics: bytes | None, message_id: str, date_: datetime, unsubscribe_url: str,
            token: str) -> bytes:
    """The message: text + HTML alternatives, an .ics attachment, unsubscribe headers.

    Written directly (headers, boundaries, quoted-printable parts from the C encoder): the
    email package's generator writes a message line by line and took 30 ms for a long
    digest, the modern header registry 12 ms for any."""
    mailto = f"mailto:{parseaddr(sender)[1]}?subject={quote('unsubscribe ' + token)}"
    alternative = _multipart("alternative", [_part("plain", text), _part("html", html)])
    body = alternative
    if ics is not None:
        calendar = _part("calendar", ics.decode("utf-8"), '; method="PUBLISH"',
                         b'Content-Disposition: attachment; filename="deadlines.ics"\r\n')
        body = _multipart("mixed", [alternative, calendar])
    head = [("From", _address(sender)), ("To", _address(recipient)),
            ("Subject", " ".join(subject_line.split())), ("Date", format_datetime(date_)),
            ("Message-ID", message_id), ("List-Unsubscribe", f"<{unsubscribe_url}>, <{mailto}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("Auto-Submitted", "auto-generated"), ("MIME-Version", "1.0")]
    return b"".join(_header(name, value) for name, value in head) + body


def _header(name: str, value: str) -> bytes:
    """One header line, folded (and encoded, when not ASCII) the way the email package does."""
    line = f"{name}: {value}"
    if value.isascii() and len(line) <= 78:
        return line.encode("ascii") + b"\r\n"
    folded = Header(value, "us-ascii" if value.isascii() else "utf-8", header_name=name)
    return f"{name}: {folded.encode(linesep=_CRLF)}\r\n".encode("ascii")


def _part(subtype: str, body: str, params: str = "", headers: bytes = b"") -> bytes:
    """A text part: its headers and its body in quoted-printable (readable, 7-bit safe)."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    encoded = binascii.b2a_qp(lines, istext=True).replace(b"\n", b"\r\n")
    return (f'Content-Type: text/{subtype}; charset="utf-8"{params}\r\n'.encode("ascii") +
            b"Content-Transfer-Encoding: quoted-printable\r\n" + headers + b"\r\n" + encoded)


def _multipart(subtype: str, parts: list[bytes]) -> bytes:
    """A multipart entity; its boundary starts with '=_', which quoted-printable never
    writes, so no part can hold it."""
    boundary = f"=_{secrets.token_hex(12)}"
    out = [f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'
           .encode("ascii")]
    for part in parts:
        out += [f"--{boundary}\r\n".encode("ascii"), part, b"\r\n"]
    out.append(f"--{boundary}--\r\n".encode("ascii"))
    return b"".join(out)


def _address(value: str) -> str:
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8") if name else address


@dataclass(frozen=True)
class Stamp:
    """A built message with holes: `fill` gives one reader's bytes."""

    pieces: tuple[bytes, ...]  # the bytes around the holes
    holes: tuple[tuple[str, tuple[int, ...]], ...]  # each hole: its value, and where the
    # placeholder was cut by soft line breaks (lengths of the pieces of the value)

    def fill(self, recipient: str, token: str, message_id: str) -> bytes:
        """This reader's message."""
        values = {"to": recipient.encode("ascii"), "token": token.encode("ascii"),
                  "id": message_id.encode("ascii")}
        out = [self.pieces[0]]
        for (name, cuts), after in zip(self.holes, self.pieces[1:], strict=True):
            value, start = values[name], 0
            chunks = []
            for length in cuts:
                chunks.append(value[start:start + length])
                start += length
            chunks[-1] += value[start:]
            out.append(_SOFT_BREAK.join(chunks))
            out.append(after)
        return b"".join(out)


def stamp(built: bytes) -> Stamp:
    """Find the holes of a message built with TOKEN_HOLE, RECIPIENT_HOLE and MESSAGE_ID_HOLE."""
    found: list[tuple[int, int, str, tuple[int, ...]]] = []
    for m in _TOKEN.finditer(built):
        found.append((m.start(), m.end(), "token",
                      tuple(len(p) for p in m.group().split(_SOFT_BREAK))))
    for name, hole in (("to", RECIPIENT_HOLE), ("id", MESSAGE_ID_HOLE)):
        for m in re.finditer(re.escape(hole.encode()), built):
            found.append((m.start(), m.end(), name, (len(hole),)))
    found.sort()
    pieces, holes, at = [], [], 0
    for start, end, name, cuts in found:
        pieces.append(built[at:start])
        holes.append((name, cuts))
        at = end
    pieces.append(built[at:])
    return Stamp(tuple(pieces), tuple(holes))


def fits(recipient: str, token: str) -> bool:
    """Whether a reader's values can fill the holes (else build their message whole)."""
    return recipient.isascii() and len(token) == len(TOKEN_HOLE) and \
        re.fullmatch(r"[A-Za-z0-9_-]+", token) is not None
