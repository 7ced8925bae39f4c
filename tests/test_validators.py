"""monitor.validators: one owner of the conditional-request memory, persisted in a real store."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from monitor.store import AsyncStore
from monitor.validators import ValidatorCache

URL = "http://forum.example/list"
KEY = "http-validators:forum"


async def settle(cache: ValidatorCache, store: AsyncStore, *, keep: bool) -> None:
    """The end of a poll: the cache's settlement rows written to the store (``save_poll`` writes
    them in the poll's transaction; here alone)."""
    for key, value in cache.settlement("forum", keep=keep).items():
        await store.set_meta(key, value)


def run(path: Path, scenario) -> object:  # type: ignore[no-untyped-def]
    async def main() -> object:
        async with AsyncStore(path) as store:
            return await scenario(store)

    return asyncio.run(main())


def test_a_stored_poll_keeps_its_validators_for_the_next_process(tmp_path: Path) -> None:
    async def first(store: AsyncStore) -> object:
        cache = ValidatorCache()
        await cache.load("forum", store)
        cache.remember("forum", URL, '"v1"', None)
        assert not cache.same_body("forum", URL, b"listing")
        await settle(cache, store, keep=True)
        return json.loads(await store.get_meta(KEY) or "{}")

    saved = run(tmp_path / "db", first)
    assert saved == {URL: ['"v1"', None, saved[URL][2]]} and len(saved[URL][2]) == 32  # type: ignore[index]

    async def later(store: AsyncStore) -> tuple[object, bool, bool]:
        cache = ValidatorCache()                     # a new process
        await cache.load("forum", store)
        return cache.validator("forum", URL), cache.same_body("forum", URL, b"listing"), cache.knows("other")

    assert run(tmp_path / "db", later) == (('"v1"', None), True, False)


def test_a_failed_poll_forgets_here_and_in_the_store(tmp_path: Path) -> None:
    async def scenario(store: AsyncStore) -> tuple[bool, str | None, bool]:
        cache = ValidatorCache()
        await cache.load("forum", store)
        cache.same_body("forum", URL, b"listing")
        await settle(cache, store, keep=True)
        await cache.load("forum", store)
        cache.same_body("forum", URL, b"listing")
        await settle(cache, store, keep=False)       # e.g. an item page failed
        forgotten = not cache.knows("forum")
        meta = await store.get_meta(KEY)
        await cache.load("forum", store)                     # nothing to take back
        return forgotten, meta, cache.same_body("forum", URL, b"listing")

    assert run(tmp_path / "db", scenario) == (True, None, False)


def test_an_abandoned_poll_forgets_in_memory_and_an_unchanged_one_writes_nothing(tmp_path: Path) -> None:
    async def scenario(store: AsyncStore) -> tuple[bool, str | None]:
        cache = ValidatorCache()
        await cache.load("forum", store)
        cache.remember("forum", URL, None, "Wed, 21 Oct 2025 07:28:00 GMT")
        cache.abandon("forum")
        await cache.load("forum", store)
        await settle(cache, store, keep=True)        # nothing learned: nothing written
        return cache.knows("forum"), await store.get_meta(KEY)

    assert run(tmp_path / "db", scenario) == (False, None)


def test_what_this_process_knows_wins_and_a_damaged_copy_is_ignored(tmp_path: Path) -> None:
    async def scenario(store: AsyncStore) -> tuple[object, object]:
        await store.set_meta(KEY, json.dumps({URL: ['"stored"', None, None]}))
        cache = ValidatorCache()
        cache.remember("forum", URL, '"fresh"', None)
        await cache.load("forum", store)
        await store.set_meta("http-validators:other", "{not json")
        await cache.load("other", store)
        cache.restore("other", {URL: ["a", "b"], "x": [None, None, "zz"]})   # wrong shapes
        return cache.validator("forum", URL), cache.snapshot("other")

    assert run(tmp_path / "db", scenario) == (('"fresh"', None), {})
