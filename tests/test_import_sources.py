"""Named import sources: config tables parsed with messages that name the key and the fix;
`run_source` against the stand-in portal, and a portal that is down keeps the last good data."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from tests.standins import FtPortal, ftportal_records, serve
from tracker.errors import ConfigError
from tracker.importers import ImportSource, Retry, live_fetcher, parse_sources, run_source

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
FAST = Retry(attempts=2, backoff=0.0, timeout=5.0, delay=0.0)


def test_sources_parse_from_config_tables() -> None:
    ncp, grants = parse_sources({
        "nih": {"source": "grantsgov", "agency": "HHS-NIH", "status": "posted,forecasted",
                "close_times": {"default": "23:59 America/New_York"}},
        "ncp-digital": {"source": "ftportal", "programme": ["Horizon Europe"],
                        "status": ["open", "forthcoming"], "every": "12h"},
    })
    assert ncp == ImportSource("ncp-digital", "ftportal", programme=("Horizon Europe",),
                               status=("open", "forthcoming"), every=timedelta(hours=12))
    assert ncp.next_run(NOW) == NOW + timedelta(hours=12) and ncp.next_run(None) is None
    assert grants.agency == ("HHS-NIH",) and grants.every == timedelta(days=1)
    assert grants.close_times.default == (time(23, 59), "America/New_York")
    assert ncp.folder_in(Path("/srv")) == Path("/srv/imported/ftportal")


def test_every_problem_is_listed_with_its_key_and_fix() -> None:
    with pytest.raises(ConfigError) as err:
        parse_sources({"a": {"source": "cordis"},
                       "b": {"source": "ftportal", "status": ["posted"], "every": "daily",
                             "programe": ["x"]}})
    message = str(err.value)
    assert "[imports.a] source: expected \"ftportal\" or \"grantsgov\", got 'cordis'" in message
    assert "[imports.b] status: 'posted' is not a ftportal status; use forthcoming, open" \
        in message
    assert "[imports.b] every: 'daily' is not an interval; write e.g. \"1d\"" in message
    assert "[imports.b]: unknown key 'programe'" in message


def test_run_source_imports_the_filtered_topics(tmp_path: Path) -> None:
    source = parse_sources({"cbe": {"source": "ftportal", "call_id": "HORIZON-JU-CBE-2026",
                                    "status": "open,closed"}})[0]
    with serve(FtPortal(ftportal_records())) as url:
        report = run_source(source, tmp_path, NOW, live_fetcher(ftportal_url=url, retry=FAST))
    assert report.ok, report.message
    assert report.written is not None and len(report.written.created) == 5
    assert report.message.startswith("ftportal: 5 new, 0 updated")


def test_failing_source_keeps_the_last_good_data_and_withdraws_nothing(tmp_path: Path) -> None:
    source = ImportSource("all", "ftportal")
    with serve(FtPortal(ftportal_records())) as url:
        assert run_source(source, tmp_path, NOW, live_fetcher(ftportal_url=url, retry=FAST)).ok
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with serve(FtPortal(ftportal_records(), down=True)) as url:
        report = run_source(source, tmp_path, NOW + timedelta(days=1),
                            live_fetcher(ftportal_url=url, retry=FAST))
    assert not report.ok
    assert report.message.startswith("failed, last good data kept:")
    assert "HTTP 500" in report.message
    with serve(FtPortal([])) as url:  # up, but answering nothing: no mass withdrawal
        empty = run_source(source, tmp_path, NOW, live_fetcher(ftportal_url=url, retry=FAST))
    assert not empty.ok and "returned no calls" in empty.message
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_the_daemon_runs_a_due_source_syncs_and_reports_it(tmp_path: Path) -> None:
    from tracker import daemon
    from tracker import store as db
    from tracker.cli.views import status_text
    from tracker.mail.transport import transport_for
    from tracker.store.state import Fact, get_state
    from tracker.usecases import status

    sources = parse_sources({"cbe": {"source": "ftportal", "call_id": "HORIZON-JU-CBE-2026",
                                     "status": "open,closed"}})
    store = db.open_store(f"sqlite:///{tmp_path / 't.db'}")
    imported = tmp_path / "imported"
    seeds = imported / "ftportal"
    with serve(FtPortal(ftportal_records())) as url:
        runner = daemon.Runner(store, [imported], tmp_path / "cal", "https://g.example",
                               "t@g.example", lambda: transport_for("", tmp_path / "mail"),
                               sources=sources, imported=imported,
                               fetcher=live_fetcher(ftportal_url=url, retry=FAST))
        assert runner.imports(NOW) == 1
        assert runner.imports(NOW + timedelta(hours=1)) == 0  # daily: not due again yet
    assert len(list(seeds.glob("*.toml"))) == 5
    assert len(db.load_calls(store)) == 5  # an import is followed by a sync
    state = get_state(store)
    assert state[Fact.IMPORT.key("cbe")][0].startswith("ok: ftportal: 5 new")
    shown = status_text(status(store, NOW))
    assert "import:     cbe: ok: ftportal: 5 new" in shown and "(next 2026-11-26" in shown
    with serve(FtPortal(ftportal_records(), down=True)) as url:  # the portal is down a day later
        runner.fetcher = live_fetcher(ftportal_url=url, retry=FAST)
        assert runner.imports(NOW + timedelta(days=1, minutes=1)) == 1
    assert get_state(store)[Fact.IMPORT.key("cbe")][0].startswith(
        "FAILED: failed, last good data kept")
    assert len(list(seeds.glob("*.toml"))) == 5
