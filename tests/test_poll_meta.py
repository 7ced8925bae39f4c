"""What a poll's conditional requests remember is written in the poll's own transaction: with its
items, or (the transaction failing) not at all, so the next poll never skips a listing whose
items were not stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.errors import StoreError
from monitor.store import Store
from monitor.validators import ValidatorCache
from tests.support.records import WATCHES, item, ok_poll

KEY = "http-validators:forum"


def test_validators_are_written_with_the_items_or_not_at_all(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    try:
        store.save_poll(ok_poll(n=1), [item(1)], {}, WATCHES, failure_threshold=3, health_chats=(),
                        meta={KEY: '{"http://forum.example/": [null, null, "00"]}'})
        assert store.get_meta(KEY) == '{"http://forum.example/": [null, null, "00"]}'
        # a poll whose transaction fails (here a trigger refuses its poll row) writes neither
        store._conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON polls BEGIN SELECT RAISE(ABORT, 'full'); END")
        with pytest.raises(StoreError):
            store.save_poll(ok_poll(n=1), [item(2)], {}, WATCHES, failure_threshold=3, health_chats=(),
                            meta={KEY: None})
        assert store.get_meta(KEY) is not None and set(store.known_ids("forum", ["1", "2"])) == {"1"}
        store._conn.execute("DROP TRIGGER refuse")
        store.save_poll(ok_poll(n=1), [item(2)], {}, WATCHES, failure_threshold=3, health_chats=(), meta={KEY: None})
        assert store.get_meta(KEY) is None and set(store.known_ids("forum", ["1", "2"])) == {"1", "2"}
    finally:
        store.close()


def test_settlement_gives_the_rows_a_poll_writes() -> None:
    cache = ValidatorCache()
    cache._loaded["forum"] = {}
    cache.remember("forum", "http://forum.example/", '"v1"', None)
    rows = cache.settlement("forum", keep=True)
    assert {k: json.loads(v or "null") for k, v in rows.items()} == {KEY: {"http://forum.example/": ['"v1"', None, None]}}
    cache._loaded["forum"] = cache.snapshot("forum")
    assert cache.settlement("forum", keep=True) == {}                 # nothing learned: nothing to write
    cache._loaded["forum"] = cache.snapshot("forum")
    assert cache.settlement("forum", keep=False) == {KEY: None} and not cache.knows("forum")
