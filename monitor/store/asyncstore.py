"""AsyncStore: the Store's methods as coroutines, run in ONE worker thread, with their signatures."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from monitor.records import Item, PostRow
from monitor.store.core import Store

P = ParamSpec("P")
R = TypeVar("R")


def _offload(
    method: Callable[Concatenate[Store, P], R],
) -> Callable[Concatenate[AsyncStore, P], Coroutine[Any, Any, R]]:
    """Store.method -> a coroutine method of AsyncStore with the same parameters and result,
    run in the store's worker thread (a type checker sees the real signature)."""

    @functools.wraps(method)
    async def call(self: AsyncStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await self._run(functools.partial(method, self._store, *args, **kwargs))

    return call


class AsyncStore:
    """The Store's methods as coroutines, all run in ONE worker thread so SQL never blocks the
    event loop and the single connection is never used by two threads at once.

    ``await store.save_poll(...)``, ``async for batch in store.iter_posts(since)``,
    ``await store.close()``. ``AsyncStore(path)`` opens the file at once (a short blocking call);
    ``await AsyncStore.open(path)`` opens it in the worker thread.
    """

    def __init__(self, store: Store | str | os.PathLike[str], *,
                 clock: Callable[[], datetime] | None = None) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leakmon-store")
        try:
            self._store = store if isinstance(store, Store) else Store(store, clock=clock)
        except BaseException:
            self._executor.shutdown(wait=False)
            raise

    @classmethod
    async def open(cls, path: str | os.PathLike[str], *,
                   clock: Callable[[], datetime] | None = None) -> AsyncStore:
        """Open the file in a thread, so a slow disk or a locked file does not stall the loop."""
        store = await asyncio.get_running_loop().run_in_executor(None, functools.partial(Store, path, clock=clock))
        return cls(store)

    @property
    def store(self) -> Store:
        """The synchronous Store underneath (for code that already runs in a thread)."""
        return self._store

    async def _run(self, func: Callable[[], R]) -> R:
        return await asyncio.get_running_loop().run_in_executor(self._executor, func)

    # ingest
    known_ids = _offload(Store.known_ids)
    to_match = _offload(Store.to_match)
    save_poll = _offload(Store.save_poll)
    count_posts = _offload(Store.count_posts)
    save_retro_hits = _offload(Store.save_retro_hits)
    end_retro_hunt = _offload(Store.end_retro_hunt)
    # outbox and mutes
    enqueue_text = _offload(Store.enqueue_text)
    due_outbox = _offload(Store.due_outbox)
    claim_send = _offload(Store.claim_send)
    mark_sent = _offload(Store.mark_sent)
    mark_retry = _offload(Store.mark_retry)
    mark_parked = _offload(Store.mark_parked)
    outbox_stats = _offload(Store.outbox_stats)
    sent_times = _offload(Store.sent_times)
    alerted_hit = _offload(Store.alerted_hit)
    mark_false_positive = _offload(Store.mark_false_positive)
    mute = _offload(Store.mute)
    unmute = _offload(Store.unmute)
    mutes = _offload(Store.mutes)
    # queries, meta, retention
    source_status = _offload(Store.source_status)
    source_statuses = _offload(Store.source_statuses)
    all_status = _offload(Store.all_status)
    hits = _offload(Store.hits)
    search = _offload(Store.search)
    polls = _offload(Store.polls)
    evidence = _offload(Store.evidence)
    integrity_check = _offload(Store.integrity_check)
    get_meta = _offload(Store.get_meta)
    get_metas = _offload(Store.get_metas)
    set_meta = _offload(Store.set_meta)
    differing_prints = _offload(Store.differing_prints)
    record_watch_prints = _offload(Store.record_watch_prints)
    prune = _offload(Store.prune)

    async def iter_posts(self, since: datetime, batch: int = 500) -> AsyncIterator[list[Item]]:
        """Like Store.iter_posts; each batch is fetched in the worker thread."""
        posts = self._store.iter_posts(since, batch)
        while True:
            chunk = await self._run(functools.partial(next, posts, None))
            if chunk is None:
                return
            yield chunk

    async def iter_post_rows(self, since: datetime, batch: int = 500) -> AsyncIterator[list[PostRow]]:
        """Like Store.iter_post_rows; each batch is fetched in the worker thread."""
        rows = self._store.iter_post_rows(since, batch)
        while True:
            chunk = await self._run(functools.partial(next, rows, None))
            if chunk is None:
                return
            yield chunk

    async def close(self) -> None:
        """Close the database in its thread, then stop the thread (idempotent)."""
        try:
            await self._run(self._store.close)
        except RuntimeError:        # the executor is already shut down: closed before
            pass
        finally:
            self._executor.shutdown(wait=True)

    async def __aenter__(self) -> AsyncStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
