"""Source kinds: one module per kind, registered in :data:`KINDS`.

The contract every module follows (ThreatIngestor's plugin-per-module, Scrapy's pure ``parse``)::

    KIND = "telegram"

    @dataclass(frozen=True)
    class Options:                       # typed parameters with defaults
        source: str                      # the source's name (goes into every Item)
        url: str
        ...

    def make_options(src: SourceConfig) -> Options
        # validate the kind's own keys (preset, selectors, items, fields, url shape...);
        # raise ConfigError("", "<key within the source>", "<problem>") - config.py adds file and path.

    async def collect(fetch: Fetcher, opts: Options, state: SourceState) -> list[Item]
        # fetch the listing (and pages / item pages), return the items. Raises FetchError,
        # NotModified (listing unchanged) or ParseError (login page, nothing found...).

    def parse(page: Page, opts: Options) -> list[Item]
        # pure: bytes of one listing page -> items. Testable on a saved page.

A source module knows nothing about matching, SQLite or Telegram.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Awaitable, Callable, Sequence

if TYPE_CHECKING:
    from monitor.sourceconfig import SourceConfig

KINDS: dict[str, str] = {
    "html": "sources.html",
    "telegram": "sources.telegram",
    "rss": "sources.rss",
    "json": "sources.json",
    "pastebin": "sources.pastebin",
}


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


def module(kind: str) -> ModuleType:
    """The module implementing a source kind."""
    return importlib.import_module(KINDS[kind])


def make_options(src: "SourceConfig") -> object:
    """Check a source's kind-specific keys and build its typed Options."""
    return module(src.kind).make_options(src)
