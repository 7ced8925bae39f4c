"""What the one-shot commands do, as functions of the config that return data: ``once``,
``retrohunt`` and ``test_alert``. The CLI (and ``leakmon demo``) print what they return and
choose the exit code; nothing here prints.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sources
from monitor.config import Config, SourceConfig, WatchEntry
from monitor.pipeline import Engine, PollReport, poll_source
from monitor.runtime import dispatcher, engine, import_soon
from monitor.store import AsyncStore
from monitor.watchprints import hunt_changes

if TYPE_CHECKING:
    from monitor.alerts.outbox import DeliveryReport
    from monitor.retrohunt import RetrohuntResult

__all__ = ["OnceResult", "RetrohuntOutcome", "once", "retrohunt", "test_alert"]


@dataclass(frozen=True)
class OnceResult:
    """The polls of ``once`` and the delivery that followed them."""

    reports: tuple[PollReport, ...]
    delivery: DeliveryReport

    @property
    def failed(self) -> list[PollReport]:
        """The polls that failed (the others still ran)."""
        return [r for r in self.reports if not r.ok]

    @property
    def ok(self) -> bool:
        """Every poll ran and every alert was delivered (none pending, none parked)."""
        return not (self.failed or self.delivery.pending or self.delivery.parked)

    def problems(self) -> list[str]:
        """One line per failed source, and one for alerts left pending (for stderr)."""
        lines = [f"source {r.source} failed: {r.error}" for r in self.failed]
        if self.delivery.pending:
            lines.append(f"{self.delivery.pending} alert(s) still pending delivery (kept; retried later)")
        return lines


@dataclass(frozen=True)
class RetrohuntOutcome:
    """What a retro-hunt found and how the alerts it queued were delivered."""

    result: RetrohuntResult
    delivery: DeliveryReport

    @property
    def ok(self) -> bool:
        """Every queued alert was delivered."""
        return not (self.delivery.pending or self.delivery.parked)


async def once(config: Config, selected: Sequence[SourceConfig], deliver_timeout: float) -> OnceResult:
    """Retro-hunt the entries changed since the last run, poll each selected source once (all at
    the same time), then deliver the pending alerts for up to ``deliver_timeout`` seconds."""
    # What start-up built (modules, the config, the compiled list) lives as long as the polls: the
    # collector's full passes over it (~70 ms each, one in the middle of the first requests) skip it.
    gc.freeze()
    try:
        return await _once(config, selected, deliver_timeout)
    finally:
        gc.unfreeze()


async def _once(config: Config, selected: Sequence[SourceConfig], deliver_timeout: float) -> OnceResult:
    async with engine(config) as eng:
        # entries added or changed since the last run (of once or run) are retro-hunted first
        await hunt_changes(eng.store, config.watches, config.health.retrohunt_days)
        await eng.prime(selected)
        _warm_parsers(selected, eng)
        # What runs after the polls (matching the first new items, delivery) is imported while
        # the polls wait on the network, not after them. Started before the polls: started once
        # they had all started, its imports shared the interpreter with the answers being read
        # (the event loop waited for the lock at each socket call) and a second poll took longer.
        import_soon("monitor.batchmatch", "monitor.triage", "monitor.hitprep", "monitor.alerts.console",
                    "monitor.alerts.outbox")
        reports = await asyncio.gather(*await _start_polls(selected, eng))
        async with dispatcher(config, eng.store) as disp:
            delivery = await disp.drain(deliver_timeout)
    return OnceResult(tuple(reports), delivery)


def _warm_parsers(selected: Sequence[SourceConfig], eng: Engine) -> None:
    """Start the parse workers now when more listings than one round of requests brings are sure
    to be parsed: sources of a pooled kind with nothing remembered of their pages (a first poll,
    or the one after a failure). A worker's start-up (a fresh interpreter and the parser's modules,
    ~0.3 s) then runs beside this process's own, not in front of the first pages. When every
    listing may be unchanged (a later poll), the workers start at the first page that needs one."""
    cache = eng.network.validator_cache
    fresh = [src.kind for src in selected if src.kind in sources.POOLED_KINDS and not cache.knows(src.name)]
    if len(fresh) > eng.config.network.concurrency:
        from sources import parsepool

        parsepool.warm([sources.KINDS[kind] for kind in sorted(set(fresh))])


#: Polls started between two looks at the network. Each poll runs up to its first request when it
#: starts (~0.1 ms); started all in one go, 400 polls kept the first answers unread for ~0.15 s.
START_BATCH = 16


async def _start_polls(selected: Sequence[SourceConfig], eng: Engine) -> list[asyncio.Task[PollReport]]:
    """One task per source, all started now (in order, so the per-host queues keep the config's
    order), yielding to the event loop after each :data:`START_BATCH` so answers to the first
    requests are read while the other polls start."""
    tasks: list[asyncio.Task[PollReport]] = []
    try:
        for number, src in enumerate(selected, 1):
            tasks.append(asyncio.create_task(poll_source(src, eng)))
            if number % START_BATCH == 0:
                await asyncio.sleep(0)
    except BaseException:
        for task in tasks:
            task.cancel()
        raise
    return tasks


async def retrohunt(config: Config, watches: Sequence[WatchEntry], days: int,
                    progress: Callable[[int, int], None] | None = None,
                    deliver_timeout: float = 60.0,
                    hunted: Callable[[RetrohuntResult], None] | None = None) -> RetrohuntOutcome:
    """Match the posts of the last ``days`` days against ``watches``, store the new hits, deliver
    their alerts. ``progress(done, total)`` is called as posts are matched; ``hunted(result)``
    once the hunt is done, before the delivery (which may take up to ``deliver_timeout``)."""
    from monitor.retrohunt import retrohunt as hunt

    store = AsyncStore(config.storage.path)
    try:
        # The whole list (no --watch): its digest finds the compiled list's cache (~0.3 s less
        # than hashing 100,000 entries).
        digest = config.watches_digest() if tuple(watches) == config.watches else None
        result = await hunt(store, list(watches), days, progress=progress, watches_digest=digest)
        if hunted is not None:
            hunted(result)
        async with dispatcher(config, store) as disp:
            delivery = await disp.drain(deliver_timeout)
    finally:
        await store.close()
    return RetrohuntOutcome(result, delivery)


async def test_alert(config: Config, chat: str | None) -> list[tuple[str, bool, str | None]]:
    """Send a test message to each configured chat (or the one named): ``(chat, ok, error)`` each."""
    store = AsyncStore(config.storage.path)
    try:
        async with dispatcher(config, store) as disp:
            return await disp.send_test(chat)
    finally:
        await store.close()
