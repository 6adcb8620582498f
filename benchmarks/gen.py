"""Deterministic data: rule files in the documented TOML format, and subscriber rows.

Every value comes from one seeded `random.Random`, so the same scale gives the same bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

ZONES = ("Europe/Brussels", "Europe/Madrid", "Europe/Helsinki", "America/New_York",
         "America/Los_Angeles", "Asia/Tokyo", "Australia/Sydney", "UTC")
TAGS = tuple(f"tag-{n:03d}" for n in range(200))
PROGRAMMES = tuple(f"Programme {n:02d}" for n in range(30))
KINDS = ("opening", "cutoff", "closing", "milestone")
EVERY = ("daily", "weekly", "monthly")
SEED = 13
FIRST_DAY = date(2023, 6, 1)  # openings spread from here, over the span below
SPAN_DAYS = 5 * 365


@dataclass(frozen=True)
class Dataset:
    """What was generated: where, how many, and the ids (for --call and filters)."""

    seeds: Path
    ids: list[str]


def call_id(n: int) -> str:
    """The id of call number n."""
    return f"call-{n:05d}"


def file_of(seeds: Path, n: int) -> Path:
    """Rule files live in 100 subfolders, as a large collection would."""
    return seeds / f"p{n % 100:02d}" / f"{call_id(n)}.toml"


def _day(d: date) -> str:
    return d.isoformat()


def rule_text(n: int, rng: random.Random, revision: int = 0) -> str:
    """One call's TOML text: single (50%), two-stage (25%) or recurring (25%)."""
    opens = FIRST_DAY + timedelta(days=rng.randrange(SPAN_DAYS))
    zone = ZONES[rng.randrange(len(ZONES))]
    tags = sorted(rng.sample(TAGS, rng.randint(1, 4)))
    progs = rng.sample(PROGRAMMES, rng.randint(1, 2))
    kind = rng.random()
    title = f"Call {n} on {tags[0]}" + (f" (revision {revision})" if revision else "")
    hour = rng.choice(("17:00:00", "12:00:00", "23:59:00", "14:00:00"))
    head = [
        f'id = "{call_id(n)}"', 'type = "call"', f'title = "{title}"',
        f'identifiers = ["BENCH-{n:05d}"]', f'funder = "Funder {n % 97}"',
        "programmes = [" + ", ".join(f'"{p}"' for p in progs) + "]",
        f'url = "https://calls.example.org/{call_id(n)}"',
        "tags = [" + ", ".join(f'"{t}"' for t in tags) + "]",
        f'summary = "Benchmark call {n}: generated, deterministic."',
        f'timezone = "{zone}"', f"deadline_time = {hour}", f"opens = {_day(opens)}",
    ]
    body: list[str] = []
    if kind < 0.5:
        closes = opens + timedelta(days=rng.randint(30, 240))
        head += [f"closes = {_day(closes)}", 'submission = "single"']
    elif kind < 0.75:
        first = opens + timedelta(days=rng.randint(30, 120))
        closes = first + timedelta(days=rng.randint(60, 200))
        head += [f"closes = {_day(closes)}", 'submission = "two-stage"']
        body += ["", "[cutoffs]",
                 f'dates = [{{ date = {_day(first)}, key = "stage-1" }}, '
                 f'{{ date = {_day(closes)}, key = "stage-2" }}]']
    else:
        months = rng.choice((1, 2, 3))
        count = rng.randint(6, 14)
        first = opens + timedelta(days=rng.randint(20, 60))
        closes = first + timedelta(days=31 * months * count + 10)
        head += [f"closes = {_day(closes)}", 'submission = "multiple-cutoff"']
        body += ["", "[cutoffs]", f"first = {_day(first)}", f'every = "{months} months"',
                 f"count = {count}", f"until = {_day(closes)}",
                 'business_days = "next"' if rng.random() < 0.5 else 'business_days = "stay"']
        if rng.random() < 0.3:
            body += ['condition = "as long as funds are available"',
                     f"confirmed = [{_day(first)}]"]
    if rng.random() < 0.6:
        body += ["", "[budget]", f"amount = {rng.randint(1, 400) * 250_000}",
                 f"approximate = {'true' if rng.random() < 0.3 else 'false'}"]
    if rng.random() < 0.5:
        when = opens + timedelta(days=rng.randint(0, 400))
        body += ["", "[[milestones]]", 'id = "info-day"', 'title = "Information day"',
                 f"date = {_day(when)}"]
        if rng.random() < 0.3:
            body.append("tentative = true")
    if rng.random() < 0.1:
        body += ["", "[[amendments]]", 'action = "move"', "closing = true",
                 f"announced = {_day(opens + timedelta(days=10))}",
                 f"cutoff = {_day(closes)}" if kind < 0.5 else "",
                 f"to = {_day(closes + timedelta(days=14))}"]
    return "\n".join([f"# Generated benchmark call {n}.", *head, *body, ""])


def _rng(n: int) -> random.Random:
    return random.Random(SEED * 1_000_003 + n)


def write_rules(seeds: Path, calls: int) -> Dataset:
    """Write `calls` rule files under `seeds` (created)."""
    for sub in range(min(100, calls)):
        (seeds / f"p{sub:02d}").mkdir(parents=True, exist_ok=True)
    for n in range(calls):
        file_of(seeds, n).write_text(rule_text(n, _rng(n)), encoding="utf-8")
    return Dataset(seeds, [call_id(n) for n in range(calls)])


def changed_files(calls: int, share: float = 0.01, salt: int = 0) -> list[int]:
    """The numbers of the calls a '1% change' edits (a different set for each salt)."""
    rng = random.Random(SEED + 7919 * (salt + 1))
    return sorted(rng.sample(range(calls), max(1, round(calls * share))))


def change_rules(seeds: Path, calls: int, revision: int, share: float = 0.01) -> int:
    """Edit the title of 1% of the calls (revision number in the title); returns how many."""
    chosen = changed_files(calls, share, revision)
    for n in chosen:
        file_of(seeds, n).write_text(rule_text(n, _rng(n), revision), encoding="utf-8")
    return len(chosen)


def subscriber_rows(count: int, calls: int, now: datetime, revision_mark: int | None) \
        -> list[dict[str, object]]:
    """Rows for the `subscribers` table: varied filters, frequencies, zones; all due now."""
    rng = random.Random(SEED * 7 + count)
    created = (now - timedelta(days=70)).replace(tzinfo=None, microsecond=0)
    rows: list[dict[str, object]] = []
    for n in range(count):
        pick = rng.random()
        call_ids = tags = kinds = ""
        if pick < 0.35:
            call_ids = " ".join(call_id(rng.randrange(calls)) for _ in range(rng.randint(1, 5)))
        elif pick < 0.75:
            tags = " ".join(rng.sample(TAGS, rng.randint(1, 3)))
        elif pick < 0.85:
            kinds = " ".join(rng.sample(KINDS, rng.randint(1, 2)))
        rows.append({
            "email": f"reader{n:06d}@bench.example", "calls": call_ids, "tags": tags,
            "kinds": kinds, "every": EVERY[rng.randrange(3)],
            "at_time": f"{rng.randrange(24):02d}:{rng.choice((0, 30)):02d}",
            "timezone": ZONES[rng.randrange(len(ZONES))],
            "horizon_days": rng.choice((30, 60, 90)),
            "alerts": rng.choice(("", "", "14 3", "7")), "send_empty": rng.random() < 0.2,
            "active": True, "created_at": created, "updated_at": created,
            "unsubscribed_at": None, "last_digest_at": None, "last_period": "",
            "last_revision_id": revision_mark,
        })
    return rows
