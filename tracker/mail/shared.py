"""What one queue run renders once and hands to many readers: each distinct digest or alert
message (by what it says, not by who reads it), and each distinct .ics attachment."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

import jinja2

from tracker.mail import compose, mime
from tracker.models import Occurrence, Revision

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class Made:
    """One distinct message: its content, subject, and its bytes with the reader's holes."""

    digest: compose.Digest
    subject: str
    template: str
    extra: tuple[tuple[str, object], ...]
    stamp: mime.Stamp | None = None  # None until the first reader who needs the bytes


KEPT = 16  # messages (and attachments) kept: readers are queued alike ones together


def _keep(cache: OrderedDict[K, V], key: K, value: V) -> V:
    """Remember `value`, forgetting the least recently stored beyond KEPT."""
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > KEPT:
        cache.popitem(last=False)
    return value


class Shared:
    """Messages and attachments of one run, keyed by everything their bytes depend on."""

    def __init__(self, env: jinja2.Environment, sender: str, now: datetime,
                 revisions: dict[str, Revision]) -> None:
        self.env, self.sender, self.now, self.revisions = env, sender, now, revisions
        self._made: OrderedDict[Hashable, Made] = OrderedDict()
        self._ics: OrderedDict[tuple[str, ...], bytes | None] = OrderedDict()
        self.lines: dict[tuple[str, str], compose.Line] = {}  # (occurrence, zone): its line

    def made(self, key: Hashable, build: Callable[[], Made]) -> Made:
        """The message for `key`, composed on first use."""
        found = self._made.get(key)
        if found is None:
            found = _keep(self._made, key, build())
        return found

    def attachment(self, listed: Sequence[Occurrence]) -> bytes | None:
        """The listed items as an .ics file, built once per distinct list."""
        key = tuple(o.id for o in listed)
        if key not in self._ics:
            return _keep(self._ics, key, compose.attachment_of(listed, self.now, self.revisions))
        return self._ics[key]

    def payload(self, key: Hashable, made: Made, recipient: str, token: str,
                message_id: str, base_url: str) -> bytes:
        """One reader's message bytes: the shared message with their holes filled (built
        whole for an address the holes cannot take)."""
        if not mime.fits(recipient, token):
            return self._build(made, base_url, recipient, token, message_id)
        if made.stamp is None:
            built = self._build(made, base_url, mime.RECIPIENT_HOLE, mime.TOKEN_HOLE,
                                mime.MESSAGE_ID_HOLE)
            made = _keep(self._made, key, replace(made, stamp=mime.stamp(built)))
        assert made.stamp is not None
        return made.stamp.fill(recipient, token, message_id)

    def _build(self, made: Made, base_url: str, recipient: str, token: str,
               message_id: str) -> bytes:
        unsubscribe = f"{base_url}/u/{token}"
        d = replace(made.digest, unsubscribe_url=unsubscribe)
        text, html = compose.render(self.env, made.template, d, **dict(made.extra))
        return mime.message(self.sender, recipient, made.subject, text, html,
                            self.attachment(d.occurrences), message_id, self.now,
                            unsubscribe, token)
