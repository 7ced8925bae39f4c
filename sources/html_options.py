"""The typed options of an html source (its selectors, its preset's rules), apart from
``sources/html.py`` so that ``sources/html_rows.py`` can name them without an import cycle."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from selectolax.lexbor import LexborNode

__all__ = ["IdRule", "Options", "Preset", "Selectors"]

IdRule = Callable[[LexborNode, LexborNode, str], "str | None"]


@dataclass(frozen=True)
class Selectors:
    """The CSS selectors of one listing; ``None`` = not used."""

    item: str
    title: str
    link: str
    author: str | None = None
    date: str | None = None
    body: str | None = None
    next: str | None = None


@dataclass(frozen=True)
class Preset:
    """What is known of a forum engine: its selectors and how its rows name their item ids."""

    selectors: Mapping[str, str]
    item_id: IdRule | None = None       # None: the canonical URL is the id
    id_required: bool = False           # a row whose id the rule cannot read is not an item
    author_attr: str | None = None      # the row attribute holding the author (XenForo data-author)
    title_last: bool = False            # the title is the LAST match (XenForo: a prefix label comes first)
    raw_body: bool = False              # the body is a text/plain page at origin + "/raw/<id>"
    full_title: bool = False            # a title cut with "…" is read whole from the link's title attribute


@dataclass(frozen=True)
class Options:
    """Typed parameters of an html source."""

    source: str
    url: str
    selectors: Selectors
    preset: str | None = None
    follow: bool = False
    pages: int = 1
