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
