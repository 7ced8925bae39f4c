"""SQLite storage: the only module that writes SQL.

STUB: the agreed interface (records and method signatures); to be implemented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator, Mapping, Sequence

from monitor.config import WatchEntry
from monitor.items import Hit, Item


@dataclass(frozen=True)
class PollRecord:
    """One poll of one source, as the pipeline saw it."""

    source: str
    started: datetime            # UTC
    duration: float              # seconds
    ok: bool
    error: str | None = None     # reason in words when not ok
    items: int = 0               # items the source yielded


@dataclass(frozen=True)
class SaveResult:
    new_items: int
    changed_items: int
    new_hits: int
    alerts: int                  # outbox rows written (alerts, not health messages)
    health_event: str | None     # "failing" | "recovered" | None: a health message was queued


@dataclass(frozen=True)
class SourceStatus:
    name: str
    last_poll: datetime | None
    last_ok: datetime | None
    consecutive_failures: int
    last_error: str | None
    items_seen: int              # items stored for this source
    last_item_id: str | None     # newest item id (by the site's order when it has one)
    had_items: bool              # a poll has ever yielded items
    health_alerted: bool         # a "failing" health message went out and no "recovered" since


@dataclass(frozen=True)
class HitView:
    """A stored hit with what an operator or a renderer needs."""

    id: int
    watch: str
    kind: str
    severity: str
    terms: tuple[str, ...]
    field: str
    start: int
    end: int
    retro: bool
    first_seen: datetime
    item: Item
    false_positive: bool = False


@dataclass(frozen=True)
class OutboxRow:
    """One message to send: an alert (item + its new hits for one chat) or a health/text message."""

    id: int
    chat: str                    # chat NAME from [telegram.chats]
    kind: str                    # "alert" | "health" | "text"
    created: datetime
    attempts: int
    hits: tuple[HitView, ...] = ()       # for alerts: the hits this message names (same item)
    payload: Mapping[str, object] = field(default_factory=dict)   # for health/text: structured data


@dataclass(frozen=True)
class OutboxStats:
    pending: int
    oldest_pending_age_s: float | None
    parked: int


class Store:
    """One SQLite file. Synchronous; see AsyncStore for use from the event loop."""

    def __init__(self, path: str) -> None:
        raise NotImplementedError

    # Full method list the other modules rely on (implement all; keep the names and signatures):
    #
    # close() -> None
    # --- polling (called by monitor/pipeline.py)
    # source_status(source: str) -> SourceStatus | None
    # all_status(names: Sequence[str] | None = None) -> list[SourceStatus]
    #     every source that has state (and, when names are given, those names too, with empty state)
    # known_ids(source: str, ids: Sequence[str]) -> set[str]
    # to_match(source: str, items: Sequence[Item]) -> list[Item]
    #     the items that are new, or whose title or text differ from what is stored (text None means
    #     "unknown this poll": compare the title only). Known items come back with text filled from
    #     the store when their text is None, so matching sees the whole post.
    # save_poll(poll: PollRecord, items: Sequence[Item], hits: Mapping[str, Sequence[Hit]],
    #           watches: Mapping[str, WatchEntry], *, failure_threshold: int,
    #           health_chats: Sequence[str]) -> SaveResult
    #     ONE transaction (BEGIN IMMEDIATE): insert new items (first_seen = now) and update changed
    #     ones (text None keeps the stored text), FTS5 kept in step; INSERT OR IGNORE hits keyed by
    #     (item, watch) - `hits` maps item_id -> hits; for the hits actually inserted, ONE outbox row
    #     per (item, chat) naming all of that item's new hits routed to that chat (chats of a hit =
    #     watches[hit.watch].chats); hit rows keep watch kind and severity. Poll log row; source state
    #     (last_poll, last_ok, consecutive_failures, last_error, last_item_id, had_items).
    #     Health: when not ok and consecutive failures reach failure_threshold and no failing message
    #     went out yet -> one "health" outbox row per health chat, payload
    #     {"source", "event": "failing", "reason", "failures", "since"}; when ok again after that ->
    #     payload {"source", "event": "recovered", "failures", "since"}.
    # --- retro-hunt
    # count_posts(since: datetime) -> int
    # iter_posts(since: datetime, batch: int = 500) -> Iterator[list[Item]]    (first_seen >= since)
    # save_retro_hits(hits: Mapping[tuple[str, str], Sequence[Hit]], watches: Mapping[str, WatchEntry]) -> int
    #     keyed by (source, item_id); hits marked retro; outbox rows as in save_poll; returns new hits
    # --- outbox (called by monitor/alerts/outbox.py)
    # enqueue_text(chats: Sequence[str], payload: Mapping[str, object], kind: str = "text") -> None
    # due_outbox(now: datetime, limit: int = 200) -> list[OutboxRow]   pending, next_attempt <= now, oldest first
    # mark_sent(row_ids: Sequence[int], message_id: int | None, now: datetime) -> None
    # mark_retry(row_ids: Sequence[int], error: str, next_attempt: datetime) -> None    attempts += 1
    # mark_parked(row_ids: Sequence[int], error: str) -> None      permanent refusal; counted in stats
    # outbox_stats(now: datetime) -> OutboxStats
    # sent_times(chat: str | None, since: datetime) -> list[datetime]  sends since (all chats when None),
    #     so rate limits hold across restarts
    # get_meta(key: str) -> str | None;  set_meta(key: str, value: str | None) -> None
    # --- queries (CLI)
    # hits(since: datetime | None = None, watch: str | None = None, limit: int | None = None) -> list[HitView]  newest first
    # search(query: str, limit: int = 50) -> list[tuple[Item, datetime]]   FTS5; a query with FTS syntax
    #     errors is retried as a quoted phrase, never raises sqlite errors
    # polls(source: str, limit: int = 20) -> list[PollRecord]
    # prune(retention_days: int, now: datetime) -> int     post text older than that is emptied; hits kept
    # integrity_check() -> str
    #
    # class AsyncStore: the same methods as coroutines, run in ONE worker thread
    # (concurrent.futures.ThreadPoolExecutor(max_workers=1)), so the event loop never blocks on SQL.
