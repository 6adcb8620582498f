"""The web's forms: CSRF tokens, reading the subscribe and manage forms, and the confirmation
mail (queued in the outbox; the daemon's drain sends it). The forms never tell whether an
address is subscribed: every valid request gets the same answer."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import make_msgid, parseaddr
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jinja2
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response

from tracker import userinput
from tracker.errors import UsageError
from tracker.mail import compose
from tracker.mail.subscriptions import Changes
from tracker.models import Every, Kind

CSRF_COOKIE = "tracker_csrf"
MAX_FORM = 16_384
ALERT_DAYS = (14, 7, 3, 1)


async def form_of(request: Request) -> FormData:
    """An urlencoded form body (at most MAX_FORM bytes); anything else reads as empty. Our
    forms need no file upload, so no multipart parser is needed."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = b""
    if kind == "application/x-www-form-urlencoded":
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM:
                return FormData()
    pairs: list[tuple[str, str | UploadFile]] = list(
        parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    return FormData(pairs)


def csrf_token(request: Request) -> str:
    """The visitor's CSRF token: from the cookie, or a new one (set it with `set_csrf`)."""
    found = request.cookies.get(CSRF_COOKIE, "")
    return found if 20 <= len(found) <= 64 and found.isascii() else secrets.token_urlsafe(24)


def set_csrf(response: Response, request: Request, token: str) -> Response:
    """Keep the token in a first-party, same-site cookie (double submit)."""
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(CSRF_COOKIE, token, max_age=7 * 86400, httponly=True,
                            samesite="strict", secure=request.url.scheme == "https", path="/")
    return response


def csrf_ok(request: Request, form: Mapping[str, Any]) -> bool:
    """The form's token equals the cookie's, and the request comes from our own pages."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = str(form.get("csrf", ""))
    if not cookie or not hmac.compare_digest(cookie.encode(), sent.encode()):
        return False
    origin = request.headers.get("origin") or request.headers.get("referer") or ""
    if origin and origin != "null":
        return urlsplit(origin).netloc == request.url.netloc
    return True


@dataclass
class Wanted:
    """What a visitor asked to follow, as typed values."""

    email: str = ""
    calls: tuple[str, ...] = ()
    kinds: tuple[Kind, ...] = ()
    every: Every = Every.WEEKLY
    alerts: tuple[int, ...] = ()
    timezone: str = "Europe/Brussels"
    errors: dict[str, str] = field(default_factory=dict)

    def stored(self) -> dict[str, object]:
        """The request as kept until the confirmation click."""
        return {"calls": list(self.calls), "kinds": [k.value for k in self.kinds],
                "every": self.every.value, "alerts": list(self.alerts),
                "timezone": self.timezone}

    def changes(self, whole: bool = True) -> Changes:
        """What `subscriptions.subscribe` applies (an empty choice means everything); a new
        subscription is `whole`, a change keeps the tags set elsewhere (CLI)."""
        return Changes(calls=self.calls, tags=() if whole else None, kinds=self.kinds,
                       every=self.every,
                       timezone=self.timezone, alerts=self.alerts)


def from_stored(email: str, data: Mapping[str, Any]) -> Wanted:
    """A request back from the store."""
    return Wanted(email, tuple(data.get("calls", ())), tuple(Kind(k) for k in
                                                           data.get("kinds", ())),
                  Every(data.get("every", "weekly")), tuple(int(a) for a in
                                                            data.get("alerts", ())),
                  str(data.get("timezone", "Europe/Brussels")))


def read(form: Any, known_calls: Sequence[str], need_email: bool = True) -> Wanted:
    """The subscribe or manage form, checked; problems go to `errors` by field."""
    w = Wanted()
    if need_email:
        try:
            w.email = userinput.email(str(form.get("email", "")))
        except UsageError:
            w.errors["email"] = "Write a single address, such as name@example.org."
    w.calls = tuple(c for c in dict.fromkeys(form.getlist("call")) if c in known_calls)
    try:
        w.kinds = userinput.kinds(form.getlist("kind"), "kind")
    except UsageError as exc:
        w.errors["kind"] = str(exc)
    try:
        w.every = userinput.every(str(form.get("every", "weekly")))
    except UsageError:
        w.errors["every"] = "Choose daily, weekly or monthly."
    w.alerts = tuple(sorted({int(a) for a in form.getlist("alert")
                             if a.isdigit() and int(a) in ALERT_DAYS}, reverse=True))
    zone = str(form.get("timezone", "") or "Europe/Brussels")
    try:
        w.timezone = userinput.zone(zone, "time zone").key
    except UsageError:
        w.timezone = "Europe/Brussels"
    return w


def confirm_message(env: jinja2.Environment, sender: str, w: Wanted, confirm_url: str,
                    stop_url: str, stop_token: str, titles: Mapping[str, str],
                    now: datetime) -> tuple[str, str, bytes]:
    """(subject, Message-ID, bytes) of the mail that asks to confirm a subscription."""
    subject = "Confirm your grant deadline digest"
    context = {"w": w, "confirm_url": confirm_url, "stop_url": stop_url,
               "calls": [titles.get(c, c) for c in w.calls]}
    text = env.get_template("confirm.txt").render(**context)
    html = env.get_template("confirm.html").render(**context)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message_id = make_msgid(domain=domain)
    payload = compose.message(sender, w.email, subject, text, html, None, message_id, now,
                              stop_url, stop_token)
    return subject, message_id, payload
