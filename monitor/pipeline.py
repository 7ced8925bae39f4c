"""poll_source(): fetch -> parse -> match -> store, for one source, once.

The data flows one way: the source module yields items, the matcher finds hits, and the store
writes items, hits and outbox rows in one transaction. Nothing here sends anything: the
dispatcher drains the outbox on its own schedule, so a poll never waits on Telegram.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sources
from monitor.config import Config, SourceConfig, WatchEntry
from monitor.errors import FetchError, LeakmonError, NotModified, ParseError
from monitor.evidence import RecordingFetcher, pages_for_items
from monitor.fetch import Network, redact
from monitor.match import Matcher
from monitor.records import Hit, Item, PollRecord, SaveResult, SourceStatus
from monitor.repair import repair_item
from monitor.store import AsyncStore

log = logging.getLogger("leakmon.poll")


@dataclass
class Engine:
    """What every poll shares: the config, the network, the store and the compiled watch list."""

    config: Config
    network: Network
    store: AsyncStore
    matcher: Matcher
    watches: Mapping[str, WatchEntry]
    # Read ahead by prime() for the next poll of each source (taken once, then read per poll).
    statuses: dict[str, SourceStatus | None] = field(default_factory=dict)

    async def prime(self, sources: Sequence[SourceConfig]) -> None:
        """Before polling many sources at once: their state and remembered validators in two reads,
        not two per source (which would all queue in the store's thread before the first request)."""
        names = [src.name for src in sources]
        self.statuses.update(await self.store.source_statuses(names))
        await self.network.validator_cache.prime(names, self.store)

    @classmethod
    def build_matcher(cls, config: Config) -> tuple[Matcher, dict[str, WatchEntry]]:
        """Compile the watch list of a config."""
        matcher = Matcher(config.watches, watches_digest=config.watches_digest())
        return matcher, {w.name: w for w in config.watches}


@dataclass(frozen=True)
class PollReport:
    """What one poll did, for logs, exit codes and metrics."""

    source: str
    ok: bool
    error: str | None
    items: int
    saved: SaveResult | None
    seconds: float
    unchanged: bool = False


def poll_deadline(src: SourceConfig, config: Config) -> float:
    """A hung poll must not block its source forever: the whole poll gets this many seconds."""
    requests = src.pages + (40 if src.follow or src.kind == "pastebin" else 0)
    budget = config.network.timeout * 2 + requests * (config.network.host_delay + 2.0)
    return max(budget, config.network.timeout * 3)


def match_items(matcher: Matcher, items: Sequence[Item]) -> dict[str, list[Hit]]:
    """item_id -> hits, for the items that need matching. Pure; runs off the event loop."""
    from monitor.batchmatch import match_many  # one pass for all the items, same hits

    found: dict[str, list[Hit]] = {}
    for item, hits in zip(items, match_many(matcher, [(item.title, item.text) for item in items])):
        if hits:
            found[item.item_id] = hits
    return found


def _dedupe(items: Sequence[Item]) -> list[Item]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item.item_id not in seen:
            seen.add(item.item_id)
            out.append(item)
    return out


async def poll_source(src: SourceConfig, engine: Engine) -> PollReport:
    """Poll one source once and store what it found. Never raises for a source's own failure."""
    started = datetime.now(UTC)
    t0 = time.monotonic()
    store = engine.store
    status = engine.statuses.pop(src.name) if src.name in engine.statuses else await store.source_status(src.name)
    state = sources.SourceState(
        name=src.name,
        known=lambda ids: store.known_ids(src.name, list(ids)),
        last_item_id=status.last_item_id if status else None,
    )
    module = sources.module(src.kind)
    validators = engine.network.validator_cache
    await validators.load(src.name, store)   # a fresh process takes back what the store kept
    error: str | None = None
    items: list[Item] = []
    unchanged = False
    # Remembers the pages of this poll: those that produced an item that hits are kept as evidence.
    fetcher = RecordingFetcher(engine.network.fetcher(src))
    try:
        async with asyncio.timeout(poll_deadline(src, engine.config)):
            items = _dedupe(await module.collect(fetcher, src.options, state))
            # Mojibake repaired once, here, for every kind: what is stored, matched and shown.
            items = [repair_item(item) for item in items]
    except NotModified:
        unchanged = True
    except TimeoutError:
        error = f"poll took longer than {poll_deadline(src, engine.config):g}s"
    except (FetchError, ParseError) as exc:
        error = exc.reason
    except LeakmonError as exc:
        error = str(exc)
    except Exception as exc:  # a bug in a parser must not stop the other sources
        log.warning("source %s: unexpected error: %s: %s", src.name, type(exc).__name__, redact(str(exc)),
                    exc_info=log.isEnabledFor(logging.DEBUG))
        error = f"internal error: {type(exc).__name__}"
    if error is None and not items and not unchanged and status is not None and status.had_items:
        error = "no items (the source used to have items)"

    # An item left out of this poll (its page failed) is still new to the store, but the listing
    # that names it would look unchanged next time: the listing must be read again.
    see_again = error is not None or bool(state.left_out)
    hits: dict[str, list[Hit]] = {}
    try:
        if error is None and items:
            to_match = await store.to_match(src.name, items)
            if to_match:
                hits = await asyncio.get_running_loop().run_in_executor(None, match_items, engine.matcher, to_match)
        seconds = time.monotonic() - t0
        poll = PollRecord(source=src.name, started=started, duration=seconds, ok=error is None,
                          error=redact(error) if error else None, items=len(items))
        evidence = pages_for_items(items, fetcher.fetched, hits) if hits else None
        # The listing may have been fetched fine before parsing failed: then its validators are
        # forgotten, or the next poll gets a 304 and never looks at these items again. What the
        # validators keep is written in the poll's transaction: with the items, or not at all.
        meta = validators.settlement(src.name, keep=not see_again)
        saved = await store.save_poll(poll, items if error is None else [], hits, engine.watches,
                                      failure_threshold=engine.config.health.failure_threshold,
                                      health_chats=engine.config.telegram.health_chats, evidence=evidence,
                                      meta=meta)
    except BaseException:
        validators.abandon(src.name)   # nothing was stored: the next poll must see the page again
        raise
    if error is None:
        log.info("poll %s: %d items, %d new, %d hits, %.2fs%s", src.name, len(items), saved.new_items,
                 saved.new_hits, seconds, " (unchanged)" if unchanged else "")
    else:
        log.warning("poll %s failed: %s (%.2fs)", src.name, poll.error, seconds)
    return PollReport(source=src.name, ok=error is None, error=poll.error, items=len(items), saved=saved,
                      seconds=seconds, unchanged=unchanged)
