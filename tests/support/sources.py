"""Test doubles for the source tests: a Fetcher serving bytes from a dict, and a SourceState.

FakeFetcher implements OUR Fetcher interface (monitor.fetch), not httpx: it answers from a dict
of URL -> bytes, refuses other origins with OffOriginError like the real one, answers unknown
URLs with FetchError("HTTP 404", status=404) and records every request. No network is involved.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from monitor.errors import FetchError, NotModified, OffOriginError
from monitor.fetch import Page
from monitor.sourceconfig import SourceConfig
from sources import SourceState, make_options
from tests.support.files import fixture

__all__ = ["FakeFetcher", "FakeState", "fixture", "options", "page"]


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or ""), parts.port or default


class FakeFetcher:
    """Serves ``pages[url]`` (bytes, a Page, or an exception to raise) for one source origin."""

    def __init__(self, origin: str, pages: dict[str, bytes | Page | Exception], *,
                 content_type: str = "text/html; charset=utf-8", unchanged: Sequence[str] = ()) -> None:
        self.origin = origin
        self.pages = dict(pages)
        self.content_type = content_type
        self.unchanged = set(unchanged)
        self.requests: list[tuple[str, bool]] = []

    def same_origin(self, url: str) -> bool:
        return _origin(url) == _origin(self.origin)

    async def get(self, url: str, *, conditional: bool = False) -> Page:
        self.requests.append((url, conditional))
        if not self.same_origin(url):
            raise OffOriginError("link outside the source's origin", url)
        if conditional and url in self.unchanged:
            raise NotModified()
        entry = self.pages.get(url)
        if entry is None:
            raise FetchError("HTTP 404", url, status=404)
        if isinstance(entry, Exception):
            raise entry
        if isinstance(entry, Page):
            return entry
        return Page(url=url, status=200, body=entry, headers={"content-type": self.content_type})

    @property
    def urls(self) -> list[str]:
        return [url for url, _ in self.requests]


class FakeState:
    """A SourceState whose ``known`` answers from a set and records what it was asked."""

    def __init__(self, known: Sequence[str] = (), last_item_id: str | None = None, name: str = "src") -> None:
        self.known_ids = set(known)
        self.asked: list[list[str]] = []
        self.state = SourceState(name=name, known=self._known, last_item_id=last_item_id)

    async def _known(self, ids: Sequence[str]) -> set[str]:
        self.asked.append(list(ids))
        return {i for i in ids if i in self.known_ids}


def options(kind: str, url: str, **keys: object) -> object:
    """The kind's Options from a SourceConfig as config.py would build it."""
    return make_options(SourceConfig(name="src", kind=kind, url=url, **keys))  # type: ignore[arg-type]


def page(url: str, body: bytes, content_type: str = "text/html; charset=utf-8") -> Page:
    """A fetched page for the pure ``parse`` functions."""
    return Page(url=url, status=200, body=body, headers={"content-type": content_type})
