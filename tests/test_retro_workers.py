"""A retro-hunt matched in worker processes stores exactly what one matched in this process stores,
and a worker pool that breaks mid-hunt loses nothing (the parent matches what is left)."""

from __future__ import annotations

import asyncio
import os
import pickle
import random
import shutil
import signal
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from monitor import retropool
from monitor.config import WatchEntry
from monitor.match import Matcher
from monitor.records import Item, PollRecord
from monitor.retrohunt import retrohunt
from monitor.retropool import Matching, match_batch
from monitor.store import AsyncStore, Store, ingest

NAMES = ("CHU de Rennes", "Clinique Saint-Luc", "Mediboard", "Hôpital Nord", "Axicorp", "patients")
WORDS = ("dump", "sale", "records", "fresh", "escrow", "06 12 34 56 78", "jean@chu-rennes.fr", "758,912",
         "noms", "prénoms", "ddn", "tox", "btc")
WATCHES = [WatchEntry(name=n, terms=(n,), chats=("soc",), severity="medium") for n in NAMES]


def fill(path: Path, posts: int) -> None:
    """``posts`` posts over three sources, a quarter naming a watched entry (some titles repeat: reposts)."""
    rng = random.Random(7)
    store = Store(path)
    try:
        for first in range(0, posts, 250):
            source = f"forum-{first // 250 % 3}"
            items = []
            for n in range(first, min(first + 250, posts)):
                words = [rng.choice(WORDS) for _ in range(40)]
                if rng.random() < 0.25:
                    words.insert(rng.randrange(40), rng.choice(NAMES))
                title = f"{rng.choice(NAMES)} database dump {rng.randrange(3)} for sale" if n % 5 == 0 else "misc"
                items.append(Item(source=source, item_id=f"t{n}", url=f"http://{source}.invalid/t{n}", title=title,
                                  text=" ".join(words), author="anon"))
            poll = PollRecord(source=source, started=datetime.now(UTC), duration=0.1, ok=True, items=len(items))
            store.save_poll(poll, items, {}, {}, failure_threshold=3, health_chats=())
    finally:
        store.close()


def hunt(path: Path, workers: int) -> tuple[int, int]:
    async def run() -> tuple[int, int]:
        store = AsyncStore(path)
        try:
            result = await retrohunt(store, WATCHES, 30, workers=workers)
        finally:
            await store.close()
        return result.posts, result.new_hits

    return asyncio.run(run())


def rows(path: Path) -> list[list[tuple[object, ...]]]:
    with sqlite3.connect(path) as conn:
        return [conn.execute("SELECT id, item_pk, watch, kind, severity, terms, field, start_pos, end_pos, retro, "
                             "repost_of, snippet FROM hits ORDER BY id").fetchall(),
                conn.execute("SELECT id, triage FROM items ORDER BY id").fetchall(),
                conn.execute("SELECT id, chat, kind, item_pk, hit_ids, payload, state FROM outbox ORDER BY id").fetchall()]


def test_workers_store_what_one_process_stores(tmp_path: Path) -> None:
    fill(tmp_path / "base.db", 2_100)                  # five batches of 500 (one worker: the 4th matched here)
    for name in ("thread.db", "workers.db", "worker.db"):
        shutil.copy(tmp_path / "base.db", tmp_path / name)
    alone = hunt(tmp_path / "thread.db", 0)
    pooled = hunt(tmp_path / "workers.db", 2)
    shared = hunt(tmp_path / "worker.db", 1)
    assert alone == pooled == shared and alone[0] == 2_100 and alone[1] > 500
    assert rows(tmp_path / "thread.db") == rows(tmp_path / "workers.db") == rows(tmp_path / "worker.db")
    assert any(row[10] is not None for row in rows(tmp_path / "thread.db")[0])     # reposts were grouped


def test_a_broken_worker_pool_is_replaced_by_matching_here(tmp_path: Path) -> None:
    batch = [(n + 1, "s", str(n), f"CHU de Rennes leak {n}", "Mediboard dump") for n in range(20)]
    matcher = Matcher(WATCHES)
    expected = match_batch(matcher, batch)

    async def run() -> list[object]:
        matching = Matching(matcher, WATCHES, 1)
        try:
            assert await matching.result(batch, matching.submit(batch)) == expected     # the worker runs
            future = matching.submit(batch)
            for process in list(matching._pool._processes.values()):                   # type: ignore[union-attr]
                os.kill(process.pid, signal.SIGKILL)
            got = [await matching.result(batch, future)]
            got.append(await matching.result(batch, matching.submit(batch)))           # in this process now
            assert matching._pool is None
            return got
        finally:
            matching.close()

    assert asyncio.run(run()) == [expected, expected]


def test_workers_only_for_long_hunts_on_two_cores_or_more(monkeypatch) -> None:
    from monitor import retropool

    for cores, posts, expected in ((1, 10**6, 0), (2, 10**6, 1), (3, 10**6, 2), (4, 10**6, 3), (16, 10**6, 4),
                                   (16, 19_999, 0)):
        monkeypatch.setattr(os, "sched_getaffinity", lambda _pid, n=cores: set(range(n)))
        assert retropool.pool_size(posts) == expected


def test_what_a_worker_sends_back_is_rebuilt_equal() -> None:
    # Hits in title and text, a lookalike one, a post with personal data and a record count,
    # one with nothing to triage: the tuples a worker sends rebuild the same hits and Prepared.
    batch = [(1, "s", "a", "CHU de Rennes: 758,912 patients, noms, ddn", "jean@chu-rennes.fr 06 12 34 56 78"),
             (2, "s", "b", None, "Mediboard dump and Ахicorp too"),
             (3, "s", "c", "nothing", None),
             (4, "t", "a", "Hôpital Nord", "Clinique Saint-Luc Clinique Saint-Luc")]
    matched = match_batch(Matcher(WATCHES), batch)
    found, prepared = matched
    assert len(found) == 3 and any(h.lookalike for hits in found.values() for h in hits)
    assert prepared[("s", "a")].triage.records == 758_912 and prepared[("s", "a")].triage.seen
    wire = pickle.loads(pickle.dumps(retropool.to_wire(matched)))
    assert retropool.from_wire(wire) == matched


def test_a_hunt_checkpoints_less_often_while_it_runs_only(tmp_path: Path) -> None:
    fill(tmp_path / "h.db", 1_200)
    seen: list[int] = []

    async def run() -> None:
        store = AsyncStore(tmp_path / "h.db")
        conn = store._store._conn
        try:
            assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
            # progress is told after each batch is stored (the store's thread is idle then)
            await retrohunt(store, WATCHES, 30, workers=0, progress=lambda done, total: seen.append(
                conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]))
            assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        finally:
            await store.close()

    asyncio.run(run())
    assert len(seen) == 3 and set(seen) == {ingest.RETRO_WAL_PAGES}


def test_a_hunt_of_the_whole_list_finds_the_compiled_list_by_the_configs_digest(tmp_path: Path, monkeypatch) -> None:
    from monitor import retrohunt as retrohunt_module
    from monitor import usecases
    from monitor.config import load_config

    fill(tmp_path / "d.db", 300)
    (tmp_path / "names.csv").write_text("name\n" + "\n".join(NAMES) + "\n", encoding="utf-8")
    (tmp_path / "c.toml").write_text(f'[storage]\npath = "{(tmp_path / "d.db").as_posix()}"\n[[watch_file]]\n'
                                     'path = "names.csv"\nname_column = "name"\nterms_columns = ["name"]\n',
                                     encoding="utf-8")
    monkeypatch.setenv("LEAKMON_TELEGRAM_TOKEN", "")
    monkeypatch.setenv("LEAKMON_CACHE_DIR", str(tmp_path / "cache"))
    config = load_config(tmp_path / "c.toml")
    digests: list[str | None] = []

    class Recording(Matcher):
        def __init__(self, watches: list[WatchEntry], **kwargs: object) -> None:
            digests.append(kwargs.get("watches_digest"))  # type: ignore[arg-type]
            super().__init__(watches, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(retrohunt_module, "Matcher", Recording)
    whole = asyncio.run(usecases.retrohunt(config, list(config.watches), 30, deliver_timeout=0.1))
    some = asyncio.run(usecases.retrohunt(config, list(config.watches[:2]), 30, deliver_timeout=0.1))
    assert whole.result.posts == some.result.posts == 300 and whole.result.new_hits > 0
    assert config.watches_digest() is not None and digests == [config.watches_digest(), None]
