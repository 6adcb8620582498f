"""Hardening, defect 2: whatever `tracker check` accepts syncs, lists, renders and sends on
SQLite and PostgreSQL; whatever cannot is a check error with a line, never a traceback.

The named values of the issue each get a test; a seeded mutation corpus (hostile values put
in every key, lines deleted, doubled and cut) runs the whole way on both back ends.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from icalendar import Calendar

from tests.helpers import ROLLING_CUTOFFS
from tests.smtpkit import BASE_URL, SENDER, SmtpServer, brussels, follow, html_of, live_app, text_of
from tracker import store as db
from tracker import usecases
from tracker.calendar import feeds
from tracker.mail import queue, smtpurl, transport
from tracker.rules import parse_rule
from tracker.web.app import make_app

NOW = brussels(2024, 10, 28, 8)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # what no feed, header or row may hold

BASE = '''\
id = "{id}"
type = "call"
title = "AI Factories"
identifiers = ["EUROHPC-2024-CEI-AI-01"]
funder = "EuroHPC Joint Undertaking"
programmes = ["Digital Europe"]
url = "https://eurohpc-ju.europa.eu/"
tags = ["ai", "hpc"]
summary = "Rolling call"
timezone = "Europe/Brussels"
deadline_time = 17:00:00
opens = 2024-09-10
closes = 2025-12-31
source = "call-text"

''' + ROLLING_CUTOFFS + '''dates = [{{ date = 2024-12-02, key = "extra", label = "Extra round" }}]

[budget]
amount = 1_000_000_000
currency = "EUR"
remaining = 500_000_000
note = "total"

[[budget.parts]]
name = "EU share"
amount = 500_000_000

[[amendments]]
action = "move"
announced = 2024-10-10
cutoff = 2025-02-04
to = 2025-02-01
note = "brought forward"

[[amendments]]
action = "budget"
announced = 2024-10-11
remaining = 400_000_000

[[milestones]]
id = "selection"
title = "Selection"
date = "2025-Q1"
url = "https://eurohpc-ju.europa.eu/selection"
note = "expected"

[sources.call-text]
title = "Call text"
url = "https://eurohpc-ju.europa.eu/call-text"
'''

HOSTILE = [
    "9223372036854775808", "18446744073709551616", "1e400", "-1e400", "nan", "inf", "-inf",
    "-1", "1000000000000001", "1e15", "0", "1.5", "2147483648", "true", "[]", "{}",
    '"\\u0000"', '"a\\u0000b"', '"\\u001b[31mred"', '"\\u0007ding"', '"x\\r\\nBcc: e@vil.example"',
    '"\\u007f"', '"\\u2028\\u202e"', '"javascript:alert(1)"', '"JaVaScRiPt:alert(1)"',
    '" javascript:alert(1)"', '"data:text/html,<script>alert(1)</script>"',
    '"https://x.example/\\"><script>alert(1)</script>"', '"<script>alert(1)</script>"',
    '"{{ 7*7 }}{% raw %}"', '"%s%n%x"', '"' + "x" * 300 + '"', '"' + "a" * 20_000 + '"',
    '"' + "a" * 250 + '"', '"Europe/' + "x" * 300 + '"', '"../../etc/passwd"', '"/etc/passwd"',
    '"Etc/GMT+12"', '"Pacific/Kiritimati"', '"Europe/Brussels\\u0000"', "0001-01-01",
    "9999-12-31", "1899-12-31", "2200-01-01", "2024-02-29", "23:59:59", "00:00:00",
    "2025-01-01T00:00:00Z", "2025-01-01T00:00:00+14:00", "2025-01-01T23:59:59-12:00",
    '"0 days"', '"-1 months"', '"99999999 days"', '"1 day"', '"1000000 weeks"', "1000000000",
    '"2026-Q5"', '"2026-13"', '"0000"', '"9999"', '["' + "t" * 150 + '"]', '["a", "a"]',
    '"' + "s" * 300 + '"', '"ünïcödé 中文 🎉"', '""', '" "',
]


def nested(depth: int) -> str:
    """A value nested `depth` levels deep."""
    return "[" * depth + "1" + "]" * depth


def mutants(count: int, seed: int) -> Iterator[tuple[str, str]]:
    """(description, text) of `count` mutated rule files, the same on every run."""
    rng = random.Random(seed)
    for n in range(count):
        lines = BASE.format(id=f"fz-{seed}-{n}").splitlines()
        keyed = [i for i, line in enumerate(lines) if re.match(r"^[a-z_]+ = ", line)
                 and not line.startswith("id =")]
        how = rng.random()
        if how < 0.7:
            for _ in range(rng.choice((1, 1, 2))):
                i, value = rng.choice(keyed), rng.choice(HOSTILE)
                key = lines[i].split(" = ", 1)[0]
                lines[i] = f"{key} = {value}"
            what = f"values: {[lines[i][:60] for i in keyed if lines[i] not in BASE]}"
        elif how < 0.8:
            i = rng.choice(keyed)
            lines[i] = lines[i].split(" = ", 1)[0] + " = " + nested(rng.choice((20, 500, 2000)))
            what = f"nesting at line {i + 1}"
        elif how < 0.9:
            i = rng.randrange(1, len(lines))
            op = rng.choice(("delete", "double"))
            lines[i:i + 1] = [] if op == "delete" else [lines[i], lines[i]]
            what = f"{op} line {i + 1}"
        else:
            cut = rng.randrange(len(BASE) // 3, len(BASE))
            lines = BASE.format(id=f"fz-{seed}-{n}")[:cut].splitlines()
            what = f"cut at {cut}"
        yield what, "\n".join(lines) + "\n"


def accepted_rules(count: int, seed: int, folder: Path) -> tuple[int, int]:
    """Check every mutant (never a traceback; every error names a line or a key); write the
    accepted ones to `folder`; returns (accepted, rejected)."""
    folder.mkdir(parents=True, exist_ok=True)
    good = bad = 0
    for n, (what, text) in enumerate(mutants(count, seed)):
        rule, problems = parse_rule(text, f"m{n}.toml")
        errors = [p for p in problems if not p.warning]
        if errors:
            bad += 1
            assert rule is None
            for p in errors:
                assert p.line is not None or p.key, (what, str(p))
            continue
        good += 1
        assert rule is not None, what
        (folder / f"m{n}.toml").write_text(text, encoding="utf-8")
    return good, bad


def clean(text: str, where: str) -> None:
    """No control character, no script link, in anything shown to a reader."""
    found = CONTROL.search(text)
    assert found is None, f"{where}: control character {found.group()!r}"
    assert not re.search(r"href=\"\s*(javascript|data):", text, re.I), where


def use_everything(db_url: str, seeds: Path, out: Path, smtp: SmtpServer) -> int:
    """What a user does with accepted rules: sync, list, build feeds, open the page, get a
    digest and alerts over SMTP. Returns the number of calls synced."""
    store = db.open_store(db_url)
    try:
        report = usecases.sync(store, [seeds], brussels(2024, 10, 1, 9))
        items = usecases.stored_deadlines(store, usecases.Query(NOW, include_past=True))
        assert len({o.call_id for o in items}) == report.added or report.added >= 0
        built = feeds.build(store, out, BASE_URL, NOW)
        assert built.written
        for path in out.rglob("*.ics"):
            body = path.read_text(encoding="utf-8")
            clean(body, str(path))
            Calendar.from_ical(body)
        with live_app(make_app(store, BASE_URL, now=lambda: NOW)) as url:
            import urllib.request

            with urllib.request.urlopen(url + "/", timeout=10) as response:
                assert response.status == 200
                clean(response.read().decode(), "/")
        calls = sorted(c for c in db.load_calls(store))
        follow(store, "fuzz@uni.example", calls=calls, horizon="365d")
        queued = queue.queue_due(store, NOW, BASE_URL, SENDER)
        assert not queued.errors, queued.errors
        sender = transport.SmtpTransport(smtpurl.parse_smtp_url(smtp.url))
        sent = queue.send_due(store, sender, SENDER, NOW)
        assert not sent.errors and not sent.failed, sent.errors
        for got in smtp.messages():
            clean(str(got.message["Subject"]), "Subject")
            clean(text_of(got.message), "text body")
            clean(html_of(got.message), "HTML body")
        return len(calls)
    finally:
        store.close()


def fuzz(db_url: str, tmp_path: Path, smtp: SmtpServer, count: int, seed: int) -> None:
    """Check `count` mutants; everything accepted must work the whole way."""
    good, bad = accepted_rules(count, seed, tmp_path / "seeds")
    synced = use_everything(db_url, tmp_path / "seeds", tmp_path / "out", smtp)
    backend = db_url.split(":", 1)[0].split("+")[0]
    print(f"\nrule fuzz ({backend}): {count} files, {good} accepted, {bad} rejected with a "
          f"line, 0 tracebacks, {good - synced} accepted-but-broken")
    assert synced == good


def test_fuzzed_rule_files_are_rejected_with_a_line_or_work_everywhere(
        db_url: str, tmp_path: Path, smtp: SmtpServer) -> None:
    """330 mutated files on each back end: 0 tracebacks, 0 accepted-but-broken."""
    fuzz(db_url, tmp_path, smtp, 330, seed=10)


@pytest.mark.slow
def test_fuzzed_rule_files_large_run(db_url: str, tmp_path: Path, smtp: SmtpServer) -> None:
    """The same with 3,000 other mutants (slow)."""
    fuzz(db_url, tmp_path, smtp, 3000, seed=11)


# ------------------------------------------------------------------ the issue's own values

def problem_at(text: str, key_line: str) -> str:
    """The check's error for a file; it must name the line of `key_line`."""
    rule, problems = parse_rule(text, "call.toml")
    errors = [p for p in problems if not p.warning]
    assert rule is None and errors, f"accepted: {key_line}"
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith(key_line))
    assert any(p.line == line for p in errors), [str(p) for p in errors]
    return " ".join(str(p) for p in errors)


def with_value(key: str, value: str) -> str:
    """The base file with `key = value` (the first such line)."""
    text = BASE.format(id="ai-factories")
    return re.sub(rf"(?m)^{key} = .*$", lambda _m: f"{key} = {value}", text, count=1)


@pytest.mark.parametrize("value", ["9223372036854775808", "1e400", "nan", "inf", "-5",
                                   "1_000_000_000_000_001"])
def test_amounts_beyond_any_budget_are_check_errors(value: str) -> None:
    """2^63, 1e400, nan: the check names the line; no OverflowError later."""
    problem_at(with_value("amount", value), "amount =")


@pytest.mark.parametrize("value", ['"a\\u0000b"', '"\\u001b[31mred"', '"\\u0007"',
                                   '"x\\rBcc: e@vil.example"'])
@pytest.mark.parametrize("key", ["title", "summary", "note", "condition", "funder"])
def test_control_characters_in_any_text_are_check_errors(key: str, value: str) -> None:
    """NUL, ESC, BEL, CR in a title, a summary, a note...: an error on that line."""
    assert "control character" in problem_at(with_value(key, value), f"{key} =")


@pytest.mark.parametrize("value", ['"javascript:alert(1)"', '" JAVASCRIPT:alert(1)"',
                                   '"data:text/html,x"', '"https://x.example/\\"onmouseover=x"',
                                   '"eurohpc-ju.europa.eu"'])
def test_links_must_be_http_or_https(value: str) -> None:
    """A javascript: URL never becomes a link on / or in a digest."""
    problem_at(with_value("url", value), "url =")


@pytest.mark.parametrize("value", ['"Europe/' + "x" * 300 + '"', '"../../etc/passwd"',
                                   '"Mars/Olympus"', '""'])
def test_bad_zones_are_check_errors_naming_the_file(value: str) -> None:
    """A 300-character zone: 'unknown time zone' at the line, not 'File name too long'."""
    found = problem_at(with_value("timezone", value), "timezone =")
    assert "call.toml" in found and "too long" not in found


@pytest.mark.parametrize("depth", [500, 5000])
def test_deep_nesting_is_a_check_error_with_a_line(depth: int) -> None:
    """500 levels of [[[...]]]: a check error at its line, not RecursionError."""
    problem_at(with_value("tags", nested(depth)), "tags =")


@pytest.mark.parametrize(("key", "value"), [
    ("id", '"' + "a" * 250 + '"'), ("tags", '["' + "t" * 150 + '"]'),
])
def test_names_too_long_for_the_store_or_a_file_name_are_check_errors(key: str,
                                                                      value: str) -> None:
    """An id or tag longer than the store's columns (and a feed's file name) is refused."""
    problem_at(with_value(key, value), f"{key} =")
