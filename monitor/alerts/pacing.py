"""Telegram's rate limits as pure rules: 30 messages/s overall, 20/min per group or channel, 1/s
per chat, and the retry backoff. The dispatcher fills a :class:`Window` with the send times the
store remembers (so the limits hold across restarts) and asks it when a chat may be sent to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

GLOBAL_PER_SECOND = 30
GROUP_PER_MINUTE = 20
CHAT_INTERVAL = 1.0          # seconds between two messages to one chat
BACKOFF_BASE = 5.0
BACKOFF_CAP = 900.0


@dataclass
class Window:
    """Recent send times (epoch seconds) for the rate limits: what the store knows + this pass."""

    everyone: list[float] = field(default_factory=list)
    chats: dict[str, list[float]] = field(default_factory=dict)

    def record(self, chat: str, t: float) -> None:
        self.everyone.append(t)
        self.chats.setdefault(chat, []).append(t)

    def ready_at(self, chat: str, is_group: bool, now: float) -> float:
        """Earliest time a message to ``chat`` keeps every limit."""
        ready = now
        mine = sorted(self.chats.get(chat, ()))
        if mine:
            ready = max(ready, mine[-1] + CHAT_INTERVAL)
        if is_group and len(mine) >= GROUP_PER_MINUTE:
            ready = max(ready, mine[-GROUP_PER_MINUTE] + 60.0)
        everyone = sorted(self.everyone)
        if len(everyone) >= GLOBAL_PER_SECOND:
            ready = max(ready, everyone[-GLOBAL_PER_SECOND] + 1.0)
        return ready


def dt(t: float) -> datetime:
    """Epoch seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(t, UTC)


def ts(when: datetime) -> float:
    """A datetime (naive means UTC) as epoch seconds."""
    if when.tzinfo is None:      # a store may hand back naive UTC
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def distinct(times: Sequence[datetime]) -> list[float]:
    """Send times as sorted epoch seconds, one per message."""
    # Rows sent in one message (a digest) share one time: count the message once.
    return sorted({round(ts(t), 3) for t in times})


def is_group(chat_id: int | str) -> bool:
    """Groups and channels (negative ids, ``@name``) have the 20 messages/minute limit."""
    return isinstance(chat_id, str) or chat_id < 0
