"""The records that flow through leakmon, in one place.

``Item`` (what a source yields) and ``Hit`` (what matching finds); what the store writes and hands
back: ``PollRecord``, ``SaveResult``, ``SourceStatus``, ``HitView``, ``OutboxRow``, ``OutboxStats``,
``SendClaim``, ``Mute``. The store, the alerts and the CLI import them from here, so none of them
needs the store to know what a row is. Plain frozen dataclasses, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.triage import Triage


@dataclass(frozen=True)
class Item:
    """One post, paste, message or record found by a source.

    ``item_id`` is the site's own id when it has one (MyBB tid, XenForo thread id, Telegram
    ``channel/123``, paste key, API id), otherwise the canonical URL. ``text`` is ``None`` when
    this poll did not learn the item's text (a known thread whose page is never fetched again):
    the store then keeps the text it has. ``date`` is timezone-aware UTC or ``None``.
    ``body_url`` is the page to fetch for the text when the source follows items.
    """

    source: str
    item_id: str
    url: str
    title: str
    text: str | None = None
    author: str | None = None
    date: datetime | None = None
    body_url: str | None = field(default=None, compare=False)


#: A stored post as a retro-hunt reads it: (item pk, source, item_id, title, text).
PostRow = tuple[int, str, str, str | None, str | None]


@dataclass(frozen=True)
class Hit:
    """One watch entry matched by one item.

    ``terms`` are the watch entry's terms (as configured) that were found; ``field`` and
    ``start``/``end`` locate the first match in the ORIGINAL text (or in the title when the text
    does not name the entry; ``field`` is "text" or "title"), so a renderer can show the sentence
    that names the entry with the term in bold. ``lookalike`` is True when that match was read
    through lookalike letters (Cyrillic or Greek letters in a Latin word: "Axiсorp").
    """

    watch: str
    terms: tuple[str, ...]
    field: str
    start: int
    end: int
    lookalike: bool = False


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
    repost_of: int | None = None         # the first hit of its repost group, None for a first sighting
    snippet: str | None = None           # the masked text around the match, kept after the text is erased
    triage: Triage | None = None         # claimed records and kinds of personal data (of the item)


@dataclass(frozen=True)
class OutboxRow:
    """One message to send: an alert (item + its new hits for one chat) or a health/text message."""

    id: int
    chat: str                    # chat NAME from [telegram.chats]
    kind: str                    # "alert" | "repost" | "health" | "text"
    created: datetime
    attempts: int
    hits: tuple[HitView, ...] = ()       # for alerts and reposts: the hits this message names (same item)
    payload: Mapping[str, object] = field(default_factory=dict)   # structured data (see due_outbox)
    reply_to: int | None = None          # reposts: the message id of the group's first alert in this chat


@dataclass(frozen=True)
class OutboxStats:
    pending: int
    oldest_pending_age_s: float | None
    parked: int
    muted: int = 0               # held by a mute, sent when it ends


@dataclass(frozen=True)
class SendClaim:
    """The answer of ``Store.claim_send``."""

    granted: bool                        # the rows are this sender's until the lease ends: send now
    wait_until: datetime | None = None   # not granted yet: ask again at this time (rate limit or pause)
    paused: bool = False                 # wait_until is a 429 pause of all sending

    @property
    def lost(self) -> bool:
        """The rows went elsewhere (sent, claimed by a live sender, muted, parked, rescheduled)."""
        return not self.granted and self.wait_until is None


@dataclass(frozen=True)
class Mute:
    """Alerts of watch entry ``watch`` are held in chat ``chat`` until ``until`` (UTC)."""

    chat: str
    watch: str
    until: datetime
    created: datetime


# ---------------------------------------------------------------- titles cut by a listing

_ELLIPSES = ("…", "...")


def cut_stem(title: str) -> str | None:
    """The visible part of a title cut with an ellipsis ("French Operator(s) (Orang…" ->
    "French Operator(s) (Orang"), or None when the title does not end with one."""
    for mark in _ELLIPSES:
        if title.endswith(mark):
            return title[: -len(mark)].rstrip() or None
    return None


def is_cut_of(title: str, whole: str | None) -> bool:
    """Whether ``title`` is ``whole`` cut with an ellipsis (a listing that shortens long titles):
    the whole title, once learned from the item page, is kept rather than the cut one."""
    stem = cut_stem(title)
    return stem is not None and whole is not None and len(whole) > len(stem) and whole.startswith(stem)
