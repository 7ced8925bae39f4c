"""Retro-hunt: match stored posts against (part of) the watch list; new hits are alerted as retro-hunt."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from monitor.batchmatch import match_many
from monitor.config import WatchEntry
from monitor.hitprep import Prepared, prepare
from monitor.match import Matcher
from monitor.records import Hit, Item

if TYPE_CHECKING:
    from monitor.store import AsyncStore


@dataclass(frozen=True)
class RetrohuntResult:
    posts: int
    new_hits: int


Found = dict[tuple[str, str], list[Hit]]


def _match_batch(matcher: Matcher, batch: Sequence[Item]) -> tuple[Found, dict[tuple[str, str], Prepared]]:
    """The hits of a batch of posts by (source, item_id), and the triage and snippets of each post
    that hits: computed here, outside the store's write transaction (the store checks that the
    post is still what they were computed from)."""
    # One fold and one automaton pass for the whole batch (monitor.batchmatch), same hits.
    found: Found = {}
    prepared: dict[tuple[str, str], Prepared] = {}
    for item, hits in zip(batch, match_many(matcher, [(item.title, item.text) for item in batch])):
        if hits:
            found[(item.source, item.item_id)] = hits
            prepared[(item.source, item.item_id)] = prepare(item.title, item.text, hits)
    return found, prepared


async def retrohunt(store: AsyncStore, watches: Sequence[WatchEntry], days: int,
                    progress: Callable[[int, int], None] | None = None) -> RetrohuntResult:
    """Match the posts first seen in the last ``days`` days against ``watches``; store and queue new hits.

    Only hits the store does not have yet become alerts (the store keys hits by item and watch).
    """
    if not watches:
        return RetrohuntResult(0, 0)
    matcher = await asyncio.get_running_loop().run_in_executor(None, Matcher, list(watches))
    by_name = {w.name: w for w in watches}
    since = datetime.now(UTC) - timedelta(days=days)
    total = await store.count_posts(since)
    done = new_hits = 0
    async for batch in store.iter_posts(since):
        found, prepared = await asyncio.get_running_loop().run_in_executor(None, _match_batch, matcher, batch)
        if found:
            new_hits += await store.save_retro_hits(found, by_name, prepared)
        done += len(batch)
        if progress:
            progress(done, total)
    if progress and total == 0:
        progress(0, 0)
    return RetrohuntResult(done, new_hits)
