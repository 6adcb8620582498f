"""Fixtures shared by the test modules: real rule files from tests/data, and factories."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import data_text, load, parse_ok
from tests.pg import create_database, postgres_server
from tests.smtpkit import SmtpServer, smtp_server
from tracker.models import Rule


def _timed_waits_end() -> bool:
    """Whether a thread's timed wait ends on time here. It never does under libfaketime 0.9.10
    with Python >= 3.11 (which waits with sem_clockwait, which that version does not fake:
    wolfcw/libfaketime#390): there `tracker run` never wakes for its next job."""
    ended = threading.Event()

    def probe() -> None:
        threading.Event().wait(0.01)
        ended.set()

    threading.Thread(target=probe, daemon=True).start()
    for _ in range(100):
        if ended.is_set():
            return True
        time.sleep(0.01)
    return False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `timed_waits` are skipped, with the reason, where timed waits never end."""
    marked = [item for item in items if item.get_closest_marker("timed_waits")]
    if marked and not _timed_waits_end():
        reason = ("a thread's timed wait never ends on this machine (libfaketime 0.9.10 "
                  "with Python >= 3.11), and this test needs `tracker run` to wake on time")
        for item in marked:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def ai_factories() -> Rule:
    """The rolling AI-Factories-like call from tests/data/recurring_tentative.toml."""
    return load("recurring_tentative.toml")


@pytest.fixture
def amended() -> Callable[[str], Rule]:
    """Factory: the AI-Factories-like rule with extra TOML appended (amendments, milestones)."""

    def make(extra: str) -> Rule:
        return parse_ok(data_text("recurring_tentative.toml") + "\n" + extra)

    return make


@pytest.fixture(scope="session")
def pg_base() -> Iterator[str]:
    """One PostgreSQL server for the whole session."""
    try:
        with postgres_server() as url:
            yield url
    except FileNotFoundError as exc:
        if os.environ.get("CI"):  # CI installs PostgreSQL: a skip there would hide a failure
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database on each back end (one parametrized fixture for all suites)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tracker.db'}"
    base = request.getfixturevalue("pg_base")
    return create_database(base, f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test: no user config or data dir, no ./tracker.toml, no TRACKER_* or TZ from the
    caller, so nothing touches the real user's store."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for name in list(os.environ):
        if name.startswith("TRACKER_") or name in ("TZ", "COLUMNS", "LINES", "NO_COLOR"):
            monkeypatch.delenv(name)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback."""
    with smtp_server() as server:
        yield server


@pytest.fixture
def eu(tmp_path: Path) -> Path:
    """Feeds built from the bundled seeds, synced on 15 Jan 2025 (feed and interop tests)."""
    from tests.feedkit import build, synced

    out = tmp_path / "out"
    build(synced(tmp_path), out)
    return out
