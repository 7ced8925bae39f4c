"""What conditional requests remember, with one owner: ETag, Last-Modified and body digest of each
(source, URL), kept in memory for the fetchers and in the store across processes.

A poll asks the cache once before (:meth:`ValidatorCache.load`: a fresh process takes back what
the store kept, so unchanged listings are still spared) and tells it once after
(:meth:`ValidatorCache.settlement`, written with the poll's items): a poll whose items were all
stored keeps what it learned; a poll that failed, or left an item out (its page failed), forgets
the source's validators in memory and in the store, so the next poll reads the listing in full and
sees that item again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

MAX_ENTRIES = 10_000        # remembered (source, URL) pairs of each kind (oldest dropped first)
_DIGEST = re.compile(r"[0-9a-f]{32}")


class MetaStore(Protocol):
    """The part of the store the cache persists to (``monitor.store.AsyncStore``)."""

    async def get_meta(self, key: str) -> str | None: ...

    async def get_metas(self, keys: Sequence[str]) -> dict[str, str]: ...


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
        # source -> its URLs in either map: a poll's lookups cost its own entries, not every
        # source's (a scan of both maps per poll made 400 sources cost 400 x 800 steps).
        self._urls: dict[str, dict[str, None]] = {}
        self._loaded: dict[str, dict[str, list[str | None]]] = {}   # source -> what load() saw
        self._primed: set[str] = set()      # sources whose stored copy prime() already took back

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
            self._urls.setdefault(source, {})[url] = None
            while len(self._validators) > self._max:
                self._unindex(*self._validators.popitem(last=False)[0])
        else:
            self._unindex(source, url)

    def same_body(self, source: str, url: str, body: bytes) -> bool:
        """Remember the body's digest; True when it is the one seen last time."""
        key = (source, url)
        digest = hashlib.blake2b(body, digest_size=16).digest()
        same = self._digests.pop(key, None) == digest
        self._digests[key] = digest
        self._urls.setdefault(source, {})[url] = None
        while len(self._digests) > self._max:
            self._unindex(*self._digests.popitem(last=False)[0])
        return same

    def _unindex(self, source: str, url: str) -> None:
        """Drop ``url`` from the source's index unless one of the maps still holds it."""
        if (source, url) in self._validators or (source, url) in self._digests:
            return
        urls = self._urls.get(source)
        if urls is not None:
            urls.pop(url, None)
            if not urls:
                del self._urls[source]

    # -- plain data

    def snapshot(self, source: str) -> dict[str, list[str | None]]:
        """What a source's conditional requests remember, as plain data (url -> [etag,
        last-modified, body digest]), so that it can be kept across restarts."""
        out: dict[str, list[str | None]] = {}
        for url in sorted(self._urls.get(source, ())):
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
                self._urls.setdefault(source, {})[url] = None
                while len(self._digests) > self._max:
                    self._unindex(*self._digests.popitem(last=False)[0])

    def knows(self, source: str) -> bool:
        """Whether anything is remembered for a source in this process."""
        return source in self._urls

    def forget(self, source: str, url: str | None = None) -> None:
        """Drop what is remembered of a source (one URL or all) in memory, so that the next
        conditional request fetches the page in full."""
        urls = [url] if url is not None else list(self._urls.get(source, ()))
        for one in urls:
            self._validators.pop((source, one), None)
            self._digests.pop((source, one), None)
            self._unindex(source, one)

    # -- one poll

    async def prime(self, sources: Sequence[str], store: MetaStore) -> None:
        """Before polling many sources at once: what :meth:`load` would read for each, in one read."""
        unknown = [source for source in dict.fromkeys(sources) if not self.knows(source)]
        saved = await store.get_metas([_key(source) for source in unknown])
        for source in unknown:
            self._take_back(source, saved.get(_key(source)))
            self._primed.add(source)

    def _take_back(self, source: str, saved: str | None) -> None:
        if saved:
            try:
                self.restore(source, json.loads(saved))
            except (ValueError, TypeError, AttributeError):
                pass

    async def load(self, source: str, store: MetaStore) -> None:
        """Before a poll: a source this process knows nothing of takes back what the store kept
        (unless :meth:`prime` just did)."""
        primed = source in self._primed
        self._primed.discard(source)
        if not self.knows(source) and not primed:
            self._take_back(source, await store.get_meta(_key(source)))
        self._loaded[source] = self.snapshot(source)

    def settlement(self, source: str, *, keep: bool) -> dict[str, str | None]:
        """After a poll: ``keep`` (every item was read and stored) keeps what changed; otherwise
        the source's validators are forgotten in memory. Returns the store rows to write (meta
        key -> value, None deletes), which the caller writes in the poll's own transaction, so
        they are stored with the items or not at all. Should that transaction fail,
        :meth:`abandon` follows."""
        before = self._loaded.pop(source, {})
        if not keep:
            self.forget(source)
            return {_key(source): None} if before else {}
        after = self.snapshot(source)
        return {_key(source): json.dumps(after)} if after != before else {}

    def abandon(self, source: str) -> None:
        """A poll that stored nothing (it was cancelled or the store failed): the next poll must
        see the pages again."""
        self._loaded.pop(source, None)
        self.forget(source)
