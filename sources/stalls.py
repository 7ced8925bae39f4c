"""Pages that stalled the parser (or killed its process), remembered by their bytes, so that a
hostile page served again fails at once instead of holding a parse worker for the whole deadline.

With one parse worker, a hostile source polled every few minutes would take the worker for the
whole deadline at each poll, and the honest pages queued behind it would wait that long each time.
A page is remembered by a digest of its body: the same bytes, from the same source polled again or
from another source, are refused without being parsed; a page that changed by one byte is parsed
again. The memory is bounded (the last :data:`REMEMBERED` pages) and lives in the process: a
restart forgets it.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

__all__ = ["REMEMBERED", "StalledPages"]

#: How many pages are remembered (the oldest is forgotten first); a few KB of memory.
REMEMBERED = 256


class StalledPages:
    """The bodies whose parse was stopped at the deadline, or whose parse process died."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self._size = size
        # (length, digest) -> why the page is refused. The length comes first so that a page is
        # hashed only when a remembered page has its length: nothing is hashed while none stalled.
        self._seen: OrderedDict[tuple[int, bytes], str] = OrderedDict()

    def refusal(self, body: bytes) -> str | None:
        """Why this body is not to be parsed again (it stalled the parser before), or None."""
        if all(length != len(body) for length, _ in self._seen):
            return None
        key = (len(body), _digest(body))
        reason = self._seen.get(key)
        if reason is not None:
            self._seen.move_to_end(key)      # a page served again and again stays remembered
        return reason

    def remember(self, body: bytes, reason: str) -> None:
        """Refuse this body from now on, with ``reason``, until it leaves the memory."""
        key = (len(body), _digest(body))
        self._seen[key] = reason
        self._seen.move_to_end(key)
        while len(self._seen) > self._size:
            self._seen.popitem(last=False)

    def __len__(self) -> int:
        return len(self._seen)


def _digest(body: bytes) -> bytes:
    # 128 bits of blake2b: fast (~1 ms a MB), and no two pages of a process's life collide.
    return hashlib.blake2b(body, digest_size=16).digest()
