"""Hits stored per batch (monitor.store.hits) are stored exactly as one by one (tests/support/perhit.py).

The same random history (polls with and without hits, retro-hunts with prepared, stale and no
triage and snippets, changed texts, mutes, reposts across sources and inside one batch, a clock
that moves on, jumps past the repost window and steps back) is played on two stores; every row of
hits, items' triage and outbox must be the same, and so must every call's result.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import WatchEntry
from monitor.hitprep import prepare
from monitor.records import Hit, Item, PollRecord
from monitor.store import Store
from tests.support.clocks import Clock
from tests.support.perhit import PerHitStore

SOURCES = ("forum-a", "forum-b", "tg-c")
CHATS = ("soc", "cert", "dpo")
TITLES = (
    "Mediboard: 758,912 French patients database",
    "Mediboard 758,912 french patients database!",
    "Mediboard: 758,912 French patients database 2024",
    "Mediboard: 758,913 French patients database",
    "CHU de Rennes dump part 1 full records",
    "CHU de Rennes dump part 2 full records",
    "chu de rennes dump part 1 full records",
    "leak",
    "",
    "Clinique du Parc employees and e-mails for sale",
)
TEXTS = (
    None,
    "",
    "dump for sale, contact on tox",
    "Sample: jean.dupont@chu-rennes.fr 06 12 34 56 78, NIR 1 84 12 76 451 089 46, "
    "IBAN FR76 3000 6000 0112 3456 7890 189, card 4111 1111 1111 1111. 758,912 patients, noms, prénoms, DDN.",
    "Mediboard export\n" + "patient;+33 6 12 34 56 78;mail@example.org\n" * 6,
    "order 20240917123 ref a1b2c3d4e5 and 12 345 678 90 then more text about Mediboard and CHU de Rennes " * 3,
)


def watch_entries(rng: random.Random) -> dict[str, WatchEntry]:
    entries = {}
    for i, term in enumerate(("Mediboard", "CHU de Rennes", "Clinique du Parc", "patients", "dump", "records")):
        entries[term] = WatchEntry(name=term, kind=rng.choice(("software", "establishment", "other")),
                                   terms=(term, term.lower()), severity=rng.choice(("low", "medium", "high")),
                                   chats=tuple(rng.sample(CHATS, rng.randrange(0, 3))) if i else ("soc",))
    return entries


def random_hit(rng: random.Random, watch: str, title: str, text: str | None) -> Hit:
    field = rng.choice(("title", "text"))
    shown = title if field == "title" else (text or "")
    if rng.random() < 0.4:       # entries sharing an alias: many hits of one post on the same match
        return Hit(watch=watch, terms=("dump", "Mediboard"), field=field, start=min(8, len(shown)),
                   end=min(20, len(shown)))
    start = rng.randrange(0, len(shown) + 1) if shown and rng.random() < 0.9 else rng.randrange(0, 50)
    end = start + rng.randrange(0, 30)           # past the end now and then: the snippet falls back
    return Hit(watch=watch, terms=(watch,), field=field, start=start, end=end)


def play(store: Store, clock: Clock, seed: int) -> list[object]:
    """A random history on ``store``; what each call returned."""
    rng = random.Random(seed)
    entries = watch_entries(rng)
    names = [*entries, "not configured"]
    posts: dict[tuple[str, str], tuple[str, str | None]] = {}
    results: list[object] = []
    store.mute("soc", "Mediboard", 3600.0 * 24 * 10)
    for step in range(60):
        roll = rng.random()
        if roll < 0.4:                               # a poll: new and changed items, some with hits
            source = rng.choice(SOURCES)
            items, hits = [], {}
            for _ in range(rng.randrange(1, 8)):
                item_id = str(rng.randrange(0, 15))
                title, text = rng.choice(TITLES), rng.choice(TEXTS)
                posts[(source, item_id)] = (title, text)
                items.append(Item(source=source, item_id=item_id, url=f"http://{source}.invalid/{item_id}",
                                  title=title, text=text, author="seller"))
                if rng.random() < 0.5:
                    hits[item_id] = [random_hit(rng, w, title, text) for w in rng.sample(names, rng.randrange(1, 4))]
            poll = PollRecord(source=source, started=clock(), duration=0.1, ok=True, items=len(items))
            saved = store.save_poll(poll, items, hits, entries, failure_threshold=3, health_chats=())
            results.append(("poll", saved.new_hits, saved.alerts))
        elif roll < 0.8 and posts:                   # a retro-hunt batch
            keys = rng.sample(sorted(posts), min(len(posts), rng.randrange(1, 25)))
            found = {key: [random_hit(rng, w, *posts[key]) for w in rng.sample(names, rng.randrange(1, 5))]
                     for key in keys}
            prepared = {}
            for key in keys:
                how = rng.random()
                if how < 0.5:
                    prepared[key] = prepare(*posts[key], found[key])
                elif how < 0.7:                      # prepared from a text the store no longer holds
                    prepared[key] = prepare(posts[key][0], rng.choice(TEXTS[2:]) + " (older)", found[key])
            results.append(("retro", store.save_retro_hits(found, entries, prepared)))
        elif roll < 0.9:
            chat, watch = rng.choice(CHATS), rng.choice(names)
            store.mute(chat, watch, rng.choice((60.0, 3600.0 * 24 * 30)))
        else:
            clock.advance(days=rng.choice((-2, 0.5, 3, 15)))
        clock.advance(minutes=rng.randrange(0, 90))
        results.append(step)
    return results


def table(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture(params=[1000, 3], ids=["candidates-1000", "candidates-3"])
def candidates(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """The repost candidate limit (3 makes the limit bite, inside a batch and across batches)."""
    monkeypatch.setattr("monitor.store.candidates.REPOST_CANDIDATES", request.param)
    monkeypatch.setattr(PerHitStore, "candidates", request.param)
    yield request.param


@pytest.mark.parametrize("seed", range(5))
def test_batched_hits_are_stored_as_one_by_one(tmp_path: Path, seed: int, candidates: int) -> None:
    outcome = {}
    for kind in (Store, PerHitStore):
        path = tmp_path / f"{kind.__name__}.db"
        clock = Clock()
        store = kind(path, clock=clock)
        try:
            outcome[kind] = play(store, clock, seed)
        finally:
            store.close()
    assert outcome[Store] == outcome[PerHitStore]
    batched, per_hit = tmp_path / "Store.db", tmp_path / "PerHitStore.db"
    hits = table(batched, "SELECT * FROM hits ORDER BY id")
    assert hits == table(per_hit, "SELECT * FROM hits ORDER BY id")
    assert table(batched, "SELECT id, triage FROM items ORDER BY id") == \
        table(per_hit, "SELECT id, triage FROM items ORDER BY id")
    assert table(batched, "SELECT * FROM outbox ORDER BY id") == table(per_hit, "SELECT * FROM outbox ORDER BY id")
    # the history is varied enough to mean something: reposts, masked snippets, muted rows, retro rows
    assert any(row[0] is not None for row in table(batched, "SELECT repost_of FROM hits"))
    assert any("•••" in (row[0] or "") for row in table(batched, "SELECT snippet FROM hits"))
    assert table(batched, "SELECT count(*) FROM outbox WHERE state = 'muted'")[0][0] > 0
    assert table(batched, "SELECT count(*) FROM hits WHERE retro = 1")[0][0] > 0


# The trigger sqlite-utils wrote into every database up to schema 4.
OLD_TRIGGER = """CREATE TRIGGER "items_au" AFTER UPDATE ON "items" BEGIN
  INSERT INTO "items_fts" ("items_fts", rowid, "title", "text") VALUES('delete', old.rowid, old."title", old."text");
  INSERT INTO "items_fts" (rowid, "title", "text") VALUES (new.rowid, new."title", new."text");
END"""


def test_schema_5_reindexes_on_title_and_text_updates_only(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    clock = Clock()
    store = Store(path, clock=clock)
    item = Item(source="forum-a", item_id="1", url="http://forum-a.invalid/1", title="Mediboard leak sample",
                text="dump of patients", author="seller")
    poll = PollRecord(source="forum-a", started=clock(), duration=0.1, ok=True, items=1)
    store.save_poll(poll, [item], {}, {}, failure_threshold=3, health_chats=())
    store.close()
    with sqlite3.connect(path) as db:                # roll the file back to schema 4
        db.execute('DROP TRIGGER "items_au"')
        db.execute(OLD_TRIGGER)
        db.execute("PRAGMA user_version = 4")
    store = Store(path, clock=clock)
    try:
        conn = store._conn
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 5
        before = conn.total_changes                  # counts the rows written by triggers too
        conn.execute("UPDATE items SET triage = '{}' WHERE item_id = '1'")
        assert conn.total_changes - before == 1      # the index is left alone (it was 3 rows)
        changed = Item(source="forum-a", item_id="1", url=item.url, title="Axicorp dump", text="new sample",
                       author="seller")
        store.save_poll(poll, [changed], {}, {}, failure_threshold=3, health_chats=())
        assert [found.title for found, _ in store.search("Axicorp")] == ["Axicorp dump"]
        assert store.search("Mediboard") == [] and store.search("patients") == []
        assert store.integrity_check() == "ok"
    finally:
        store.close()
