"""Retro-hunt: match stored posts against (part of) the watch list; new hits are alerted as retro-hunt."""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from monitor.config import WatchEntry
from monitor.match import Matcher
from monitor.records import PostRow
from monitor.retropool import Matched, Matching, Wire, pool_size

if TYPE_CHECKING:
    from monitor.store import AsyncStore


@dataclass(frozen=True)
class RetrohuntResult:
    posts: int
    new_hits: int


async def retrohunt(store: AsyncStore, watches: Sequence[WatchEntry], days: int,
                    progress: Callable[[int, int], None] | None = None, *,
                    workers: int | None = None, watches_digest: str | None = None) -> RetrohuntResult:
    """Match the posts first seen in the last ``days`` days against ``watches``; store and queue new hits.

    Only hits the store does not have yet become alerts (the store keys hits by item and watch).
    ``workers``: worker processes for matching (None: as :func:`monitor.retropool.pool_size` says
    for the number of posts; 0: in a thread of this process). The next batches are matched while
    one is stored; batches are stored in order, so the result does not depend on ``workers``.
    ``watches_digest``: :meth:`monitor.configtypes.Config.watches_digest` when ``watches`` are the
    config's whole list (the compiled list's cache is then found without hashing every entry).
    """
    if not watches:
        return RetrohuntResult(0, 0)
    # Built here even when workers match: the workers then load the list this build cached.
    matcher = await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(Matcher, list(watches), watches_digest=watches_digest))
    by_name = {w.name: w for w in watches}
    since = datetime.now(UTC) - timedelta(days=days)
    total = await store.count_posts(since)
    matching = Matching(matcher, watches, pool_size(total) if workers is None else workers)
    ahead = max(2, 2 * matching.workers)            # batches matched ahead of the one being stored
    pending: deque[tuple[list[PostRow], asyncio.Future[Matched | Wire]]] = deque()
    done = new_hits = 0

    async def store_oldest() -> None:
        nonlocal done, new_hits
        batch, future = pending.popleft()
        found, prepared = await matching.result(batch, future)
        if found:
            new_hits += await store.save_retro_hits(found, by_name, prepared)
        done += len(batch)
        if progress:
            progress(done, total)

    try:
        async for batch in store.iter_post_rows(since):
            pending.append((batch, matching.submit(batch)))
            if len(pending) >= ahead:
                await store_oldest()
        while pending:
            await store_oldest()
    finally:
        for _, future in pending:
            future.cancel()
        matching.close()
        try:
            await store.end_retro_hunt()        # the repost candidates kept between batches
        except RuntimeError:                    # the store was closed under the hunt: nothing kept
            pass
    if progress and total == 0:
        progress(0, 0)
    return RetrohuntResult(done, new_hits)
