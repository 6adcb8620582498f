"""The pages: the list of what is coming, a page per call, subscribing by mail (double opt-in),
and the page behind the link in every mail (change or stop). A GET never writes anything."""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from tracker import store as db
from tracker.calendar import feeds
from tracker.errors import NotFoundError, UsageError
from tracker.mail import subscriptions
from tracker.models import Every, Kind, Rule
from tracker.store import outbox, pending, subscribers
from tracker.userinput import call_id
from tracker.web import forms, pages

log = logging.getLogger(__name__)

TOKEN = re.compile(r"[A-Za-z0-9_-]{16,100}")
PER_ADDRESS = (3, timedelta(hours=1))  # confirmation mails to one address
PER_CLIENT = (10, timedelta(hours=1))  # subscribe requests from one client
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class Site:
    """What every page handler needs."""

    store: db.Store
    env: jinja2.Environment
    now: Callable[[], datetime]
    base: Callable[[Request], str]
    data: Callable[[], feeds.FeedData]
    rules: Callable[[], dict[str, Rule]]
    static: Callable[[str], str]
    sender: str
    default_zone: str

    def page(self, name: str, request: Request, status: int = 200, **values: Any) -> Response:
        """A page from its template, with the CSRF cookie the forms need."""
        token = forms.csrf_token(request)
        html = self.env.get_template(name).render(static=self.static, csrf=token, **values)
        response = HTMLResponse(html, status_code=status, headers=HEADERS)
        return forms.set_csrf(response, request, token)


def _choices(site: Site) -> dict[str, Any]:
    data = site.data()
    return {"calls": sorted(((c.id, c.title) for c in data.calls.values()),
                            key=lambda c: c[1].lower()),
            "kinds": [k.value for k in Kind], "everies": [e.value for e in Every],
            "alert_days": forms.ALERT_DAYS}


def index(site: Site, request: Request) -> Response:
    """What is coming, nearest first, with filters, countdowns and every feed."""
    data = site.data()
    moment = site.now()
    base = site.base(request)
    params = {k: request.query_params.get(k, "") for k in
              ("call", "tag", "programme", "kind", "state", "q")}
    listing = pages.listing(data, moment, base, params)
    listed = [(pages.links(feeds.feed_url(base, s), s.title), s.description)
              for s in data.distinct()]
    return site.page("index.html", request, listing=listing, feeds=listed, now=moment,
                     base_url=base, titles={c.id: c.title for c in data.calls.values()})


def call(site: Site, request: Request) -> Response:
    """One call: facts, budget, sources, every date, history, timeline, subscribe links."""
    data = site.data()
    name = request.path_params["id"]
    try:
        found = call_id([(c.id, c.identifiers) for c in _records(site)], name)
    except NotFoundError as exc:
        return site.page("message.html", request, 404, title="No such call", text=str(exc))
    if found != name:  # an official identifier: one address per call
        return RedirectResponse(f"/calls/{found}", status_code=301)
    base = site.base(request)
    page = pages.call_page(data, found, site.now(), base,
                           db.history(site.store, None, [found]), site.rules().get(found))
    return site.page("call.html", request, p=page, now=site.now(),
                     **_choices(site), chosen_calls=[found], values={}, errors={})


@dataclass(frozen=True)
class _Names:
    id: str
    identifiers: list[str]


def _records(site: Site) -> list[_Names]:
    return [_Names(c, ids) for c, ids in db.call_names(site.store)]


def subscribe_form(site: Site, request: Request) -> Response:
    """The form: address, what to follow, how often, alerts."""
    chosen = [c for c in request.query_params.getlist("call") if c in site.data().calls]
    return site.page("subscribe.html", request, **_choices(site), chosen_calls=chosen,
                     values={}, errors={})


async def subscribe(site: Site, request: Request) -> Response:
    """Queue a confirmation mail (nothing else is sent before the click). Same answer whether
    the address is known or not, and whether its own limit was reached."""
    form = await forms.form_of(request)
    return await run_in_threadpool(_subscribe, site, request, form)


def _subscribe(site: Site, request: Request, form: FormData) -> Response:
    if not forms.csrf_ok(request, form):
        return site.page("message.html", request, 403, title="Please try again",
                         text="This form had expired or came from another site. Open the "
                              "subscribe page again and send it from there.")
    data = site.data()
    wanted = forms.read(form, list(data.calls))
    if wanted.errors:
        return site.page("subscribe.html", request, 400, **_choices(site),
                         chosen_calls=list(wanted.calls), values={"email": form.get("email",
                                                                                   "")},
                         errors=wanted.errors)
    moment = site.now()
    client = request.client.host if request.client else "unknown"
    full = pending.allow(site.store, {pending.bucket("client", client): PER_CLIENT}, moment)
    if full:
        return site.page("message.html", request, 429, title="Too many requests",
                         text="Too many subscription requests came from your network in "
                              "the last hour. Please try again later.")
    if not pending.allow(site.store, {pending.bucket("addr", wanted.email): PER_ADDRESS},
                         moment):
        _queue_confirmation(site, request, wanted, moment, data)
    else:
        log.info("confirmation mail held back: the address's hourly limit is reached")
    return site.page("subscribe_sent.html", request, 202, email=wanted.email)


def _queue_confirmation(site: Site, request: Request, wanted: forms.Wanted, moment: datetime,
                        data: feeds.FeedData) -> None:
    base = site.base(request)
    sid = pending.subscriber_id(site.store, wanted.email, moment)
    request_id, token = pending.create(site.store, wanted.email, wanted.stored(), moment)
    stop = subscribers.new_token()
    subject, message_id, payload = forms.confirm_message(
        site.env, site.sender, wanted, f"{base}/confirm/{token}", f"{base}/u/{stop}", stop,
        {c.id: c.title for c in data.calls.values()}, moment)
    outbox.enqueue(site.store, outbox.Queued(sid, f"confirm:{request_id}", "confirm",
                                             wanted.email, subject, message_id, payload, moment,
                                             stop), moment)


def confirm(site: Site, request: Request) -> Response:
    """GET shows what will be subscribed and a button (link scanners change nothing); POST
    subscribes."""
    token = request.path_params["token"]
    moment = site.now()
    found = pending.find(site.store, token, moment) if TOKEN.fullmatch(token) else None
    if found is None:
        return site.page("message.html", request, 404, title="This link has expired",
                         text="The confirmation link is unknown, was used already, or is "
                              "older than two days. Subscribe again to get a new one.")
    wanted = forms.from_stored(found.email, found.wanted)
    titles = {c.id: c.title for c in site.data().calls.values()}
    if request.method != "POST":
        return site.page("subscribe_confirm.html", request, w=wanted, done=False,
                         calls=[titles.get(c, c) for c in wanted.calls])
    taken = pending.take(site.store, token, moment)
    if taken is None:
        return site.page("message.html", request, 404, title="This link has expired",
                         text="The confirmation link was used already.")
    try:
        subscriptions.subscribe(site.store, wanted.email, moment, wanted.changes(),
                                site.default_zone)
    except (UsageError, NotFoundError) as exc:  # a call withdrawn since the request
        return site.page("message.html", request, 409, title="Could not subscribe",
                         text=str(exc))
    return site.page("subscribe_confirm.html", request, w=wanted, done=True,
                     calls=[titles.get(c, c) for c in wanted.calls])


async def manage(site: Site, request: Request) -> Response:
    """The link in every mail: GET shows the subscription with a form to change it and the
    stop button; POST without `action=change` is the one-click unsubscribe (RFC 8058)."""
    token = request.path_params["token"]
    if not TOKEN.fullmatch(token):
        return site.page("message.html", request, 404, title="Not a valid link",
                         text="This unsubscribe link is not valid.")
    moment = site.now()
    if request.method != "POST":
        return await run_in_threadpool(_manage_get, site, request)
    form = await forms.form_of(request)
    return await run_in_threadpool(_manage_post, site, request, form, token, moment)


def _manage_get(site: Site, request: Request) -> Response:
    token = request.path_params["token"]
    email = pending.email_of_link(site.store, token)
    sub = subscribers.get_subscription(site.store, email) if email else None
    return site.page("unsubscribe.html", request, done=False, email="", sub=sub,
                     action=str(request.url), **_choices(site),
                     chosen_calls=list(sub.calls) if sub else [], errors={})


def _manage_post(site: Site, request: Request, form: FormData, token: str,
                 moment: datetime) -> Response:
    if form.get("action") == "change":
        email = pending.email_of_link(site.store, token)
        if email is None or not forms.csrf_ok(request, form):
            return site.page("message.html", request, 403, title="Please try again",
                             text="Open the link from your latest mail again.")
        wanted = forms.read(form, list(site.data().calls), need_email=False)
        wanted.email = email
        sub, _, _ = subscriptions.subscribe(site.store, email, moment, wanted.changes(False),
                                            site.default_zone)
        return site.page("unsubscribe.html", request, done=False, email="", sub=sub,
                         action=str(request.url), saved=True, **_choices(site),
                         chosen_calls=list(sub.calls), errors={})
    try:
        email = subscribers.unsubscribe_by_token(site.store, token, moment)
    except NotFoundError as exc:
        return site.page("message.html", request, 404, title="Not a valid link",
                         text=str(exc))
    return site.page("unsubscribe.html", request, done=True, email=email, sub=None, action="",
                     errors={})


def routes(site: Site) -> list[Route]:
    """Every page's route."""

    def bind(handler: Callable[[Site, Request], Any]) -> Callable[[Request], Any]:
        if inspect.iscoroutinefunction(handler):
            async def run_async(request: Request) -> Any:
                return await handler(site, request)
            return run_async

        def run(request: Request) -> Any:
            return handler(site, request)
        return run

    return [
        Route("/", bind(index)),
        Route("/calls/{id}", bind(call)),
        Route("/subscribe", bind(subscribe_form), methods=["GET"]),
        Route("/subscribe", bind(subscribe), methods=["POST"]),
        Route("/confirm/{token}", bind(confirm), methods=["GET", "POST"]),
        Route("/u/{token}", bind(manage), methods=["GET", "POST"]),
    ]
