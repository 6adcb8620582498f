"""`tracker subscribe`: addresses are checked up front, and editing keeps what was not given."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.smtpkit import write_seeds
from tracker import store as db
from tracker.cli import app
from tracker.models import Every, Subscription
from tracker.store import subscribers


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A throw-away store and the AI Factories rule (outside config is cleared by conftest)."""
    return {"TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
            "TRACKER_SEEDS": str(write_seeds(tmp_path / "seeds"))}


def run(env: dict[str, str], *args: str) -> Result:
    """`tracker ARGS...` in-process."""
    return CliRunner().invoke(app, list(args), env=env)


def stored(env: dict[str, str], email: str) -> Subscription | None:
    """The subscription as the store has it."""
    store = db.open_store(env["TRACKER_DATABASE_URL"])
    try:
        return subscribers.get_subscription(store, email)
    finally:
        store.close()


@pytest.mark.parametrize("address", [
    "not-an-email", "ana@", "@uni.example", "ana@@uni.example", "ana uni@example.org",
    "Ana <ana@uni.example>", "ana@uni_example.org", "ana@-uni.example",
])
def test_subscribe_rejects_what_is_not_an_address_with_one_line(
        env: dict[str, str], address: str) -> None:
    result = run(env, "subscribe", address, "--call", "ai-factories")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert address in lines[0] and "not an email address" in lines[0]
    assert "Traceback" not in result.output
    assert run(env, "subscribers", "--all").stdout.strip() == "No subscribers."


def test_domain_is_lower_cased_and_the_same_address_is_edited_not_duplicated(
        env: dict[str, str]) -> None:
    first = run(env, "subscribe", "Ana@UNI.Example", "--call", "ai-factories")
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("Subscribed Ana@uni.example")
    again = run(env, "subscribe", "Ana@uni.example", "--every", "daily")
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("Updated Ana@uni.example")
    listed = run(env, "subscribers").stdout.strip().splitlines()
    assert len(listed) == 1 and "daily" in listed[0]


def test_editing_a_subscription_keeps_every_option_not_given(env: dict[str, str]) -> None:
    created = run(env, "subscribe", "ana@uni.example", "--call", "ai-factories",
                  "--every", "weekly", "--at", "07:30", "--tz", "America/New_York",
                  "--horizon", "30d", "--alerts", "14d,3d", "--empty")
    assert created.exit_code == 0, created.output
    before = stored(env, "ana@uni.example")
    assert before is not None

    edited = run(env, "subscribe", "ana@uni.example", "--every", "daily")
    assert edited.exit_code == 0, edited.output
    after = stored(env, "ana@uni.example")
    assert after is not None
    assert after.every is Every.DAILY
    assert (after.calls, after.at, after.timezone, after.horizon_days, after.alerts,
            after.send_empty) == (("ai-factories",), before.at, "America/New_York", 30,
                                  (14, 3), True)
    assert after.created_at == before.created_at  # still the same subscription

    # an empty --alerts turns alerts off and touches nothing else
    assert run(env, "subscribe", "ana@uni.example", "--alerts", "").exit_code == 0
    quiet = stored(env, "ana@uni.example")
    assert quiet is not None and quiet.alerts == ()
    assert (quiet.every, quiet.timezone, quiet.horizon_days) == (Every.DAILY,
                                                                 "America/New_York", 30)


@pytest.mark.parametrize("option", ["--horizon", "--alerts"])
def test_absurd_number_of_days_is_refused_not_stored(env: dict[str, str], option: str) -> None:
    # a lead or horizon of thousands of years would make every later digest of this
    # subscriber fail with a date overflow
    assert run(env, "subscribe", "ana@uni.example", "--call", "ai-factories").exit_code == 0
    result = run(env, "subscribe", "ana@uni.example", option, "3000000d")
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert option in line and "3000000d" in line
    sub = stored(env, "ana@uni.example")
    assert sub is not None and sub.horizon_days == 60 and sub.alerts == ()


def test_filters_can_be_cleared_and_a_new_subscription_starts_afresh(
        env: dict[str, str]) -> None:
    assert run(env, "subscribe", "ana@uni.example", "--call", "ai-factories", "--tag", "ai",
               "--kind", "cutoff", "--every", "daily").exit_code == 0
    cleared = run(env, "subscribe", "ana@uni.example", "--call", "", "--tag", "", "--kind", "")
    assert cleared.exit_code == 0, cleared.output
    sub = stored(env, "ana@uni.example")
    assert sub is not None and (sub.calls, sub.tags, sub.kinds) == ((), (), ())
    assert "follows everything" in cleared.stdout and sub.every is Every.DAILY
    run(env, "subscribe", "ana@uni.example", "--tag", "hpc")
    assert run(env, "unsubscribe", "ana@uni.example").exit_code == 0
    again = run(env, "subscribe", "ana@uni.example")
    fresh = stored(env, "ana@uni.example")
    assert again.exit_code == 0 and fresh is not None and fresh.active
    assert (fresh.tags, fresh.every) == ((), Every.WEEKLY)  # not the old filters
