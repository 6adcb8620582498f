"""A sync reads only the rule files that changed, and ends where reading everything would."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.pg import create_database
from tracker import store as db
from tracker import usecases
from tracker.errors import RuleError
from tracker.store.schema import CALL_FIELDS, OCC_FIELDS, call_tags, calls, occurrences, rule_files
from tracker.store.sync import Orphans

START = datetime(2024, 10, 1, 9, 0, tzinfo=UTC)


def rule(n: int, version: int, rng: random.Random) -> str:
    """A call whose title, tags, cut-offs and amendments depend on `version`."""
    first = 4 + (version % 20)
    amendment = "" if version % 3 else f"""
[[amendments]]
action = "move"
cutoff = 2024-11-{first:02d}
to = 2024-11-{first + 3:02d}
announced = 2024-10-{1 + version % 5:02d}
source = "https://example.org/notice-{n}"
"""
    return f"""\
id = "call-{n}"
title = "Call {n}, version {version}"
tags = ["t{rng.randint(0, 3)}", "all"]
opens = 2024-09-10
closes = 2025-12-31
submission = "multiple-cutoff"
announced = 2024-09-01

[cutoffs]
first = 2024-11-{first:02d}
every = "{rng.choice([1, 2, 3])} months"
until = 2025-12-31
{amendment}"""


@pytest.fixture
def store(db_url: str) -> Iterator[db.Store]:
    s = db.open_store(db_url)
    yield s
    s.close()


def rows(store: db.Store) -> tuple[object, ...]:
    """What listings and feeds read: live calls, occurrences (with their sequence numbers)
    and tags."""
    with store.read() as conn:
        c = sorted(tuple(r) for r in conn.execute(
            sa.select(calls.c.id, calls.c.revision, calls.c.withdrawn,
                      *(calls.c[f] for f in CALL_FIELDS))))
        o = sorted(tuple(r) for r in conn.execute(
            sa.select(occurrences.c.id, occurrences.c.sequence, occurrences.c.withdrawn,
                      *(occurrences.c[f] for f in OCC_FIELDS))))
        t = sorted(tuple(r) for r in conn.execute(sa.select(call_tags)))
    return c, o, t


@pytest.fixture
def other(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[db.Store]:
    """A second fresh store on the same back end."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'other.db'}"
    else:
        url = create_database(request.getfixturevalue("pg_base"), f"t_{uuid.uuid4().hex[:12]}")
    s = db.open_store(url)
    yield s
    s.close()


def test_reading_only_changed_files_ends_where_reading_everything_does(
        store: db.Store, other: db.Store, tmp_path: Path) -> None:
    """Random edits, additions, removals and renames: the store synced file by file holds
    the same rows, revisions and history as one whose every sync read every file."""
    seeds = tmp_path / "seeds"
    (seeds / "a").mkdir(parents=True)
    (seeds / "b").mkdir()
    rng = random.Random(7)
    versions = dict.fromkeys(range(24), 0)
    where = {n: seeds / ("a" if n % 2 else "b") / f"call-{n}.toml" for n in versions}
    for step in range(12):
        when = START + timedelta(hours=step)
        stamp = (when - timedelta(minutes=5)).timestamp()
        for n in rng.sample(sorted(versions), 5) if step else sorted(versions):
            action = rng.choice(["edit", "edit", "edit", "touch", "remove", "rename"]) \
                if step else "edit"
            if action == "remove" and where[n].exists():
                where[n].unlink()
                continue
            if action == "rename" and where[n].exists():
                target = where[n].with_name(f"renamed-{step}-{n}.toml")
                where[n].rename(target)
                where[n] = target
            elif action == "edit" or not where[n].exists():
                versions[n] += 1
                where[n].write_text(rule(n, versions[n], random.Random(n * 100 + versions[n])))
            os.utime(where[n], (stamp, stamp))
        mode: Orphans = "prune" if step % 3 == 2 else "keep"
        ours = usecases.sync(store, [seeds], when, mode)
        with other.write() as conn:  # forget every file: this sync reads them all
            conn.execute(rule_files.delete())
        theirs = usecases.sync(other, [seeds], when, mode)
        assert (ours.added, ours.changed, ours.withdrawn) == \
            (theirs.added, theirs.changed, theirs.withdrawn), f"step {step}"
        assert rows(store) == rows(other), f"step {step}"
        assert sorted((c.entity_id, c.change, c.field, c.new) for c in ours.changes) == \
            sorted((c.entity_id, c.change, c.field, c.new) for c in theirs.changes)


def test_a_broken_edit_changes_nothing_and_the_next_good_edit_is_read(
        store: db.Store, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for n in range(3):
        (seeds / f"call-{n}.toml").write_text(rule(n, 1, random.Random(n)))
    usecases.sync(store, [seeds], START)
    before = rows(store)
    (seeds / "call-1.toml").write_text("id = \n")
    with pytest.raises(RuleError) as err:
        usecases.sync(store, [seeds], START + timedelta(hours=1))
    assert "call-1.toml" in str(err.value)
    assert rows(store) == before
    (seeds / "call-1.toml").write_text(rule(1, 2, random.Random(1)))
    report = usecases.sync(store, [seeds], START + timedelta(hours=2))
    assert report.changed >= 1 and {c.call_id for c in report.changes} == {"call-1"}


def test_an_id_taken_by_a_file_not_read_again_is_refused(
        store: db.Store, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "one.toml").write_text(rule(1, 1, random.Random(1)))
    usecases.sync(store, [seeds], START)
    (seeds / "two.toml").write_text(rule(1, 2, random.Random(2)))  # the same id, call-1
    with pytest.raises(RuleError) as err:
        usecases.sync(store, [seeds], START + timedelta(hours=1))
    assert "also used by" in str(err.value) and "one.toml" in str(err.value)


def test_a_call_announced_later_appears_on_its_day_without_any_edit(
        store: db.Store, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "now.toml").write_text(rule(1, 1, random.Random(1)))
    (seeds / "later.toml").write_text(
        rule(2, 1, random.Random(2)).replace("announced = 2024-09-01", "announced = 2024-10-20"))
    stamp = (START - timedelta(days=1)).timestamp()
    for f in seeds.iterdir():
        os.utime(f, (stamp, stamp))
    usecases.sync(store, [seeds], START)
    assert "call-2" not in db.load_calls(store)
    assert usecases.sync(store, [seeds], START + timedelta(days=5)).total == 0
    report = usecases.sync(store, [seeds], datetime(2024, 10, 20, 12, tzinfo=UTC))
    assert "call-2" in db.load_calls(store) and report.added >= 1

