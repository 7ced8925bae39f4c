"""The contract of a source kind: what the pipeline gives a source, and what a source module provides.

A source module (``sources/html.py``, ``sources/rss.py``, ...) is checked against
:class:`SourceModule` by the type checker (see the registry in ``sources/__init__.py``).
It knows nothing about matching, SQLite or Telegram.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Any,
    Protocol,
    runtime_checkable,
)

if TYPE_CHECKING:
    from monitor.fetch import Page
    from monitor.records import Item
    from monitor.sourceconfig import SourceConfig


class PageFetcher(Protocol):
    """What a source may ask of the network: pages of its own origin (``monitor.fetch.Fetcher``, or the
    pipeline's recording wrapper that keeps the pages for evidence)."""

    origin: str

    def same_origin(self, url: str) -> bool:
        """True when ``url`` (absolute, or relative to the source URL) is on the source's origin."""

    async def get(self, url: str, *, conditional: bool = False) -> Page:
        """The page at ``url``; raises FetchError, OffOriginError, or NotModified when ``conditional``."""


@dataclass(frozen=True)
class SourceState:
    """What a source may know of its past, given by the pipeline (read from the store).

    ``known(ids)`` answers which of these item ids are already stored (a followed item's page
    is fetched only when it is new). ``last_item_id`` is the newest stored item id (Telegram
    pages back with ``?before=`` until it), None on the first poll. ``left_out`` is filled by the
    source with the ids of items it found but could not read this poll (an item page failed): the
    caller must look at the listing again next poll, whatever its validators say.
    """

    name: str
    known: Callable[[Sequence[str]], Awaitable[set[str]]]
    last_item_id: str | None = None
    left_out: set[str] = field(default_factory=set)


@runtime_checkable
class SourceModule(Protocol):
    """The members every source kind module defines.

    ``Options`` is the kind's own frozen dataclass of typed parameters, so ``make_options``,
    ``collect`` and ``parse`` take it as ``Any`` here: each module narrows it to its own class.
    """

    KIND: str
    Options: type[Any]

    def make_options(self, src: SourceConfig) -> Any:
        """Check the kind's own keys and build its Options; raise ConfigError("", key, problem)."""

    async def collect(self, fetch: PageFetcher, opts: Any, state: SourceState) -> list[Item]:
        """Fetch the listing (and pages / item pages) and return the items.

        Raises FetchError, NotModified (listing unchanged) or ParseError (login page, nothing found).
        """

    def parse(self, page: Page, opts: Any) -> list[Item]:
        """Pure: the bytes of one listing page -> items. Testable on a saved page."""
