"""What conditional requests remember, with one owner: ETag, Last-Modified and body digest of each
(source, URL), kept in memory for the fetchers and in the store across processes.

A poll asks the cache once before (:meth:`ValidatorCache.load`: a fresh process takes back what
the store kept, so unchanged listings are still spared) and tells it once after
(:meth:`ValidatorCache.settle`): a poll whose items were all stored keeps what it learned; a poll
that failed, or left an item out (its page failed), forgets the source's validators in memory and
in the store, so the next poll reads the listing in full and sees that item again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from typing import Protocol

MAX_ENTRIES = 10_000        # remembered (source, URL) pairs of each kind (oldest dropped first)
_DIGEST = re.compile(r"[0-9a-f]{32}")


class MetaStore(Protocol):
    """The part of the store the cache persists to (``monitor.store.AsyncStore``)."""

    async def get_meta(self, key: str) -> str | None: ...

    async def set_meta(self, key: str, value: str | None) -> None: ...


def _key(source: str) -> str:
    return f"http-validators:{source}"


class ValidatorCache:
    """(source name, URL) -> (ETag, Last-Modified) and -> digest of the last body.

    Keyed by source too: a validator learned by one source must never make another source's first
    poll look "unchanged". Most forums send no validators, and a byte-identical listing has
    nothing new to parse: the body digest covers them.
    """

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._max = max_entries
        self._validators: OrderedDict[tuple[str, str], tuple[str | None, str | None]] = OrderedDict()
        self._digests: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._loaded: dict[str, dict[str, list[str | None]]] = {}   # source -> what load() saw

    # -- used by the fetcher of a source

    def validator(self, source: str, url: str) -> tuple[str | None, str | None] | None:
        """The (ETag, Last-Modified) to send with a conditional request, None when none is known."""
        return self._validators.get((source, url))

    def remember(self, source: str, url: str, etag: str | None, modified: str | None) -> None:
        """Keep a response's validators (none given: forget the URL's)."""
        key = (source, url)
        self._validators.pop(key, None)
        if etag or modified:
            self._validators[key] = (etag, modified)
            while len(self._validators) > self._max:
                self._validators.popitem(last=False)

    def same_body(self, source: str, url: str, body: bytes) -> bool:
        """Remember the body's digest; True when it is the one seen last time."""
        key = (source, url)
        digest = hashlib.blake2b(body, digest_size=16).digest()
        same = self._digests.pop(key, None) == digest
        self._digests[key] = digest
        while len(self._digests) > self._max:
            self._digests.popitem(last=False)
        return same

    # -- plain data

    def snapshot(self, source: str) -> dict[str, list[str | None]]:
        """What a source's conditional requests remember, as plain data (url -> [etag,
        last-modified, body digest]), so that it can be kept across restarts."""
        urls = {k[1] for k in self._validators if k[0] == source} | {k[1] for k in self._digests if k[0] == source}
        out: dict[str, list[str | None]] = {}
        for url in sorted(urls):
            etag, modified = self._validators.get((source, url), (None, None))
            digest = self._digests.get((source, url))
            out[url] = [etag, modified, digest.hex() if digest else None]
        return out

    def restore(self, source: str, saved: dict[str, list[str | None]]) -> None:
        """Take back what :meth:`snapshot` gave (ignoring anything malformed)."""
        for url, entry in saved.items():
            if not isinstance(entry, list) or len(entry) != 3:
                continue
            etag, modified, digest = (v if isinstance(v, str) else None for v in entry)
            self.remember(source, url, etag, modified)
            if digest and _DIGEST.fullmatch(digest):
                self._digests[(source, url)] = bytes.fromhex(digest)

    def knows(self, source: str) -> bool:
        """Whether anything is remembered for a source in this process."""
        return any(k[0] == source for k in self._validators) or any(k[0] == source for k in self._digests)

    def forget(self, source: str, url: str | None = None) -> None:
        """Drop what is remembered of a source (one URL or all) in memory, so that the next
        conditional request fetches the page in full."""
        for kept in (self._validators, self._digests):
            for key in [k for k in kept if k[0] == source and (url is None or k[1] == url)]:
                del kept[key]

    # -- one poll

    async def load(self, source: str, store: MetaStore) -> None:
        """Before a poll: a source this process knows nothing of takes back what the store kept."""
        if not self.knows(source):
            saved = await store.get_meta(_key(source))
            if saved:
                try:
                    self.restore(source, json.loads(saved))
                except (ValueError, TypeError, AttributeError):
                    pass
        self._loaded[source] = self.snapshot(source)

    async def settle(self, source: str, store: MetaStore, *, keep: bool) -> None:
        """After a poll whose results are stored: ``keep`` (every item was read and stored) saves
        what changed; otherwise the source's validators are forgotten, here and in the store."""
        before = self._loaded.pop(source, {})
        if not keep:
            self.forget(source)
            if before:
                await store.set_meta(_key(source), None)
        elif self.snapshot(source) != before:
            await store.set_meta(_key(source), json.dumps(self.snapshot(source)))

    def abandon(self, source: str) -> None:
        """A poll that stored nothing (it was cancelled or the store failed): the next poll must
        see the pages again."""
        self._loaded.pop(source, None)
        self.forget(source)
