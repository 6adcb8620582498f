"""The digest ceiling: a bare Jinja2 loop over the same data (one process, like the CLI).

python -m benchmarks.bare_digest URL TEMPLATES [MAX_ITEMS]: reads upcoming occurrences and the
active subscribers with plain SQL, then per subscriber filters the items (filters, horizon) and
renders the digest's text and HTML templates, listing at most MAX_ITEMS (0: all) as the tracker
does. No outbox, no MIME message, no CSS inlining, no attachment, no changes.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import jinja2
import sqlalchemy as sa


def _utc(value: object) -> datetime:
    """SQLite returns text from a plain query, PostgreSQL a datetime."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC)


def main(url: str, folder: str, max_items: int = 0) -> None:
    now = datetime.now(UTC)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        tags: dict[str, set[str]] = {}
        for cid, tag in conn.execute(sa.text("SELECT call_id, tag FROM call_tags")):
            tags.setdefault(cid, set()).add(tag)
        since = (now - timedelta(days=1)).replace(tzinfo=None)
        items = [SimpleNamespace(id=r[0], call_id=r[1], kind=r[2], title=r[3],
                                 instant=_utc(r[4]), url=r[5], note=r[6],
                                 status=r[7], zone=r[8])
                 for r in conn.execute(sa.text(
                     "SELECT id, call_id, kind, title, start_utc, url, note, status, timezone "
                     "FROM occurrences WHERE withdrawn = :f AND last_utc >= :since "
                     "ORDER BY start_utc, id"), {"f": False, "since": since})]
        subs = list(conn.execute(sa.text(
            "SELECT email, calls, tags, kinds, timezone, horizon_days FROM subscribers "
            "WHERE active = :t ORDER BY id"), {"t": True}))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(folder),
                             autoescape=jinja2.select_autoescape(["html"]),
                             trim_blocks=True, lstrip_blocks=True)
    text_t, html_t = env.get_template("digest.txt"), env.get_template("digest.html")
    size = 0
    start = time.perf_counter()
    for email, calls, stags, kinds, zone, horizon in subs:
        want_calls, want_tags, want_kinds = set(calls.split()), set(stags.split()), \
            set(kinds.split())
        end = now + timedelta(days=horizon)
        tz = ZoneInfo(zone)
        lines = []
        for o in items:
            if o.instant > end:
                break
            if (want_calls and o.call_id not in want_calls) or \
                    (want_tags and not want_tags & tags.get(o.call_id, set())) or \
                    (want_kinds and o.kind not in want_kinds) or o.status == "passed":
                continue
            when = o.instant.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
            if max_items and len(lines) >= max_items:
                break
            lines.append(SimpleNamespace(title=o.title, call_time=when, reader_time=when,
                                         left=f"{(o.instant - now).days} days left",
                                         status=o.status, url=o.url, note=o.note))
        sub = SimpleNamespace(email=email, zone=tz, horizon_days=horizon, timezone=zone)
        d = SimpleNamespace(subscriber=sub, period=None, late_since=None, items=lines,
                            changes=[], feed_url="http://127.0.0.1:8080/feeds/all.ics",
                            unsubscribe_url="http://127.0.0.1:8080/u/TOKEN")
        size += len(text_t.render(d=d)) + len(html_t.render(d=d))
    print(f"{len(subs)} digests, {size} characters, loop {time.perf_counter() - start:.4f} s")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
