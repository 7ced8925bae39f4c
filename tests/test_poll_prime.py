"""Reading ahead for a poll of many sources: one read of every source's state and remembered
validators must give what the per-source reads it replaces give."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from monitor.store import AsyncStore, Store
from monitor.validators import ValidatorCache
from tests.support.records import WATCHES, failed_poll, item, ok_poll


def test_source_statuses_agree_with_source_status_for_every_kind_of_source(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    try:
        store.save_poll(ok_poll("ok", n=1), [item(1, source="ok")], {}, WATCHES, failure_threshold=1,
                        health_chats=())
        store.save_poll(failed_poll(source="failing"), [], {}, WATCHES, failure_threshold=1, health_chats=())
        store.save_poll(ok_poll("empty"), [], {}, WATCHES, failure_threshold=1, health_chats=())
        # items but no state row: an older file, or state lost
        store.save_poll(ok_poll("stateless", n=2), [item(1, source="stateless"), item(2, source="stateless")],
                        {}, WATCHES, failure_threshold=1, health_chats=())
        store._conn.execute("DELETE FROM source_state WHERE source = 'stateless'")
        names = ["ok", "failing", "empty", "stateless", "never", "ok"]
        got = store.source_statuses(names)
        assert set(got) == set(names)
        assert got == {name: store.source_status(name) for name in names}
        assert got["never"] is None and got["stateless"] is not None and got["stateless"].items_seen == 2
        assert got["failing"] is not None and got["failing"].consecutive_failures == 1
        assert store.source_statuses([f"s{n}" for n in range(1200)]) == {f"s{n}": None for n in range(1200)}
    finally:
        store.close()


def test_prime_then_load_restores_what_load_alone_restores(tmp_path: Path) -> None:
    saved = {"http://a/list": ['"v1"', None, "11" * 16]}

    async def main() -> tuple[dict[str, object], dict[str, object], bool]:
        async with AsyncStore(tmp_path / "db") as store:
            await store.set_meta("http-validators:kept", json.dumps(saved))
            await store.set_meta("http-validators:damaged", "{not json")
            names = ["kept", "damaged", "never"]
            alone, primed = ValidatorCache(), ValidatorCache()
            for name in names:
                await alone.load(name, store)
            await primed.prime(names, store)
            # prime has read the store: what it took back must not be read again (nor lost)
            await store.set_meta("http-validators:kept", None)
            await store.set_meta("http-validators:never", json.dumps(saved))
            for name in names:
                await primed.load(name, store)
            snapshots = {n: primed.snapshot(n) for n in names}
            # prime serves one load: the next poll of a source forgotten in memory reads the store again
            primed.abandon("never")
            await primed.load("never", store)
            return {n: alone.snapshot(n) for n in names}, snapshots, primed.knows("never")

    alone, primed, later_knows = asyncio.run(main())
    assert alone == primed and alone["kept"] == saved and alone["damaged"] == {} and alone["never"] == {}
    assert later_knows
