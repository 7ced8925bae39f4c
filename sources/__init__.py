"""Source kinds: one module per kind, registered in :data:`KINDS`.

The contract every module follows (:class:`sources.contract.SourceModule`, checked by the type checker;
one module per kind with a pure ``parse``)::

    KIND = "telegram"

    @dataclass(frozen=True)
    class Options:                       # typed parameters with defaults
        source: str                      # the source's name (goes into every Item)
        url: str
        ...

    def make_options(src: SourceConfig) -> Options
        # validate the kind's own keys (preset, selectors, items, fields, url shape...);
        # raise ConfigError("", "<key within the source>", "<problem>") - config.py adds file and path.

    async def collect(fetch: PageFetcher, opts: Options, state: SourceState) -> list[Item]
        # fetch the listing (and pages / item pages), return the items. Raises FetchError,
        # NotModified (listing unchanged) or ParseError (login page, nothing found...).

    def parse(page: Page, opts: Options) -> list[Item]
        # pure: bytes of one listing page -> items. Testable on a saved page.

A source module knows nothing about matching, SQLite or Telegram.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, cast

from sources.contract import SourceModule, SourceState

if TYPE_CHECKING:
    from monitor.sourceconfig import SourceConfig

__all__ = ["KINDS", "POOLED_KINDS", "SourceModule", "SourceState", "make_options", "module"]

# A kind's module is imported when it is first used. sources/registry.py lists the same modules
# typed as SourceModule, so the type checker verifies each one (a test keeps the two in step).
KINDS: dict[str, str] = {
    "html": "sources.html",
    "telegram": "sources.telegram",
    "rss": "sources.rss",
    "json": "sources.json",
    "pastebin": "sources.pastebin",
}

#: The kinds whose pages are parsed through :mod:`sources.parsepool` (a worker process for big
#: pages); a test keeps this in step with the modules.
POOLED_KINDS = frozenset({"html", "json", "rss", "telegram"})


def module(kind: str) -> SourceModule:
    """The module implementing a source kind."""
    return cast(SourceModule, importlib.import_module(KINDS[kind]))


def make_options(src: SourceConfig) -> Any:
    """Check a source's kind-specific keys and build its typed Options."""
    return module(src.kind).make_options(src)
