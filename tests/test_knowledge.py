"""What the tracker claims to know, and how well (issue 11), on the bundled seeds: announced days,
evidence per date, overdue expectations, a history that tells the story, previews that are the
truth, and listings that never withdraw a call."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.feedkit import SEEDS, build, events, read, synced
from tests.smtpkit import SENDER, SmtpServer, follow, parse, run, text_of
from tracker import store as db
from tracker import usecases
from tracker.cli import app
from tracker.errors import UsageError
from tracker.mail import queue
from tracker.models import ChangeKind, Status
from tracker.store import outbox, subscribers

TODAY = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # the day these checks were written for
LATER_CALLS = ("ai-factory-antennas", "ai-factories-coordination-2026", "ai-gigafactories")


def cli(*args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(app, ["--seeds", str(SEEDS), *args], env=env or {})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_as_of_lists_only_what_had_been_announced_by_then() -> None:
    items = json.loads(cli("deadlines", "--as-of", "2024-10-01", "--format", "json"))
    calls = {i["call"] for i in items}
    assert calls == {"ai-factories", "eu-ai-policy"}  # the later calls were not known yet
    ids = {i["id"] for i in items}
    assert "eu-ai-policy/milestone/investai-launch" not in ids  # launched Feb 2025
    assert "ai-factories/cutoff/2024-11-04" in ids
    first = next(i for i in items if i["id"] == "ai-factories/cutoff/2024-11-04")
    assert (first["evidence"], first["time"]) == ("official", "stated")
    second = next(i for i in items if i["id"] == "ai-factories/cutoff/2025-02-04")
    assert second["evidence"] == "derived" and second["start"].startswith("2025-02-04")
    # the 1 Feb remark of 10 Dec 2024 was not known on 1 Oct 2024


def test_a_feed_built_today_says_which_dates_are_not_official(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(synced(tmp_path, now=TODAY), out)
    evs = events(read(out / "all.ics"))
    for uid in ("ai-factory-antennas/cutoff/deadline", "ai-gigafactories/cutoff/deadline",
                "ai-factories-coordination-2026/cutoff/deadline"):
        ev = evs[f"{uid}@grant-tracker"]
        assert ev.value("STATUS") == "TENTATIVE", uid  # CONFIRMED means official
        assert ev.value("SUMMARY").endswith("(reported)"), uid
        assert "How we know: reported by " in ev.value("DESCRIPTION"), uid
    gigafactory = evs["ai-gigafactories/cutoff/deadline@grant-tracker"].value("DESCRIPTION")
    assert "time assumed 17:00 Brussels" in gigafactory
    opening = evs["ai-factories-coordination-2026/opening@grant-tracker"]
    assert opening.value("STATUS") == "CONFIRMED"  # the EuroHPC JU's own announcement
    assert "Budget: about EUR 1\\,000\\,000\\,000" in \
        evs["ai-factories/cutoff/2024-11-04@grant-tracker"].value("DESCRIPTION")


def test_the_formal_gigafactories_call_is_overdue_not_gone(tmp_path: Path) -> None:
    store = synced(tmp_path, now=TODAY)
    items = usecases.stored_deadlines(store, usecases.Query(now=TODAY))
    formal = next(o for o in items if o.id == "ai-gigafactories/milestone/formal-call")
    assert formal.status is Status.OVERDUE
    from tracker.evidence import overdue_words

    assert overdue_words(formal, TODAY) == "expected Q4 2025 — not seen yet, 11 months overdue"


def test_a_fresh_store_tells_one_baseline_line_and_the_rule_files_moves(tmp_path: Path) -> None:
    store = synced(tmp_path, now=TODAY)
    lines = usecases.changes(store, None)
    kinds = [c.change for c in lines]
    assert kinds.count(ChangeKind.BASELINE) == 1 and ChangeKind.ADDED not in kinds
    moves = {c.entity_id: c for c in lines if c.change is ChangeKind.MOVED}
    cut2 = moves["ai-factories/cutoff/2025-02-04"]
    assert (cut2.old, cut2.new) == ("2025-02-04T17:00:00+01:00", "2025-02-01T17:00:00+01:00")
    assert str(cut2.known_on) == "2024-12-10" and cut2.source.startswith("europeaninterest.eu")
    assert "eu-ai-policy/milestone/ai-act-high-risk-annex-i" in moves
    assert "ai-factory-antennas/cutoff/deadline" in moves  # the extension
    since = usecases.changes(store, datetime(2025, 1, 1, tzinfo=UTC).date())
    assert "ai-factories/cutoff/2025-02-04" not in {c.entity_id for c in since}


def test_changes_as_json_one_line_per_change_with_units(tmp_path: Path) -> None:
    env = {"TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}"}
    rows = json.loads(cli("changes", "--format", "json", env=env))
    assert rows[-1]["change"] == "baseline" or any(r["change"] == "baseline" for r in rows)
    moved = [r for r in rows if r["item"] == "ai-factories/cutoff/2025-02-04"]
    assert len(moved) == 1
    assert moved[0]["what"] == "moved from 2025-02-04 17:00 CET to 2025-02-01 17:00 CET"


def test_a_listing_with_other_seeds_never_withdraws_and_sync_refuses(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    env = {"TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}"}
    runner = CliRunner()
    assert runner.invoke(app, ["--seeds", str(seeds), "sync"], env=env).exit_code == 0
    (seeds / "eurohpc-ai-factory-antennas.toml").unlink()  # a typo in a path, another folder
    listing = runner.invoke(app, ["--seeds", str(seeds), "deadlines", "--all"], env=env)
    assert listing.exit_code == 0
    store = db.open_store(env["TRACKER_DATABASE_URL"])
    antennas = db.occurrence_state(store, "ai-factory-antennas/cutoff/deadline")
    assert antennas is not None and antennas["withdrawn"] is False
    refused = runner.invoke(app, ["--seeds", str(seeds), "sync"], env=env)
    assert refused.exit_code == 2 and "ai-factory-antennas" in refused.stderr
    assert "--prune" in refused.stderr
    pruned = runner.invoke(app, ["--seeds", str(seeds), "sync", "--prune"], env=env)
    assert pruned.exit_code == 0
    gone = db.occurrence_state(store, "ai-factory-antennas/cutoff/deadline")
    assert gone is not None and gone["withdrawn"] is True


def test_sync_refusal_names_the_calls(tmp_path: Path) -> None:
    store = synced(tmp_path, now=TODAY)
    with pytest.raises(UsageError, match="eu-ai-policy"):
        usecases.sync(store, [SEEDS / "eurohpc-ai-factories.toml"], TODAY, "refuse")


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_preview_and_send_for_the_same_day_give_the_same_body(
        db_url: str, smtp: SmtpServer, tmp_path: Path) -> None:
    from tests.smtpkit import SUBSCRIBED, brussels, write_seeds

    store = db.open_store(db_url)
    seeds = write_seeds(tmp_path / "seeds")
    usecases.sync(store, [seeds], SUBSCRIBED)
    follow(store, "ana@uni.example")
    at = brussels(2024, 10, 28, 8)  # ana's hour on a Monday, a week before the first cut-off
    sub = subscribers.get_subscription(store, "ana@uni.example")
    assert sub is not None
    shown = queue.preview(store, sub, at, "https://grants.example.org", SENDER, now=at)
    run(store, smtp, at)
    (sent,) = [m for m in smtp.to("ana@uni.example") if "Grant deadlines" in m.message["Subject"]]
    token = outbox.list_outbox(store)[-1]  # the digest's own link differs: one token per mail
    body = text_of(parse(sent.raw)).replace("\r\n", "\n")
    link = next(w for w in body.split() if "/u/" in w)
    assert body.replace(link, "LINK") == shown.text.replace(
        next(w for w in shown.text.split() if "/u/" in w), "LINK")
    assert str(sent.message["Subject"]) == shown.subject
    assert token.subject == shown.subject
    assert "sent late" not in shown.text
    assert "How we know: no source recorded" in shown.text  # the test rule cites none


def test_a_new_call_is_one_line_of_history(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    store = synced(tmp_path, seeds, now=TODAY)
    (seeds / "mine.toml").write_text('id = "mine"\ntitle = "Mine"\nannounced = 2026-11-01\n'
                                     'opens = 2026-11-01\ncloses = 2027-03-31\n',
                                     encoding="utf-8")
    usecases.sync(store, [seeds], TODAY)
    added = [c for c in usecases.changes(store, None) if c.call_id == "mine"]
    assert [(c.entity, c.change) for c in added] == [("call", ChangeKind.ADDED)]
