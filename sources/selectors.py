"""CSS selectors of html sources: the ``::attr(NAME)`` suffix, truncated titles, forum-index pages.

``title = "a.subject_new::attr(title)"`` takes the ``title`` attribute of the first match instead
of its text (the convention Scrapy and parsel users know). Only the attribute suffix is added to
CSS: everything before it is compiled by selectolax (lexbor) as usual.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from monitor.records import cut_stem
from sources.common import absolute_url, attr, one_line

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser, LexborNode

__all__ = ["FieldSelector", "forum_index_hint", "full_title", "is_cut", "page_title", "parse_selector"]

_ATTR_SUFFIX = re.compile(r"::attr\(\s*([A-Za-z_:][-A-Za-z0-9_:.]*)\s*\)\s*$")


@dataclass(frozen=True)
class FieldSelector:
    """A selector split into its CSS part and the attribute to take (None: the element's text)."""

    css: str
    attr: str | None = None


@lru_cache(maxsize=512)
def parse_selector(raw: str) -> FieldSelector:
    """Split ``"span.date::attr(title)"`` into CSS and attribute; raises ValueError when malformed.

        >>> parse_selector("a.subject_new::attr(title)")
        FieldSelector(css='a.subject_new', attr='title')
    """
    text = raw.strip()
    if "::attr" not in text:
        return FieldSelector(text)
    m = _ATTR_SUFFIX.search(text)
    if m is None or "::attr" in text[:m.start()]:
        raise ValueError(f'"{raw}": ::attr() is malformed (write SELECTOR::attr(NAME) at the end, '
                         'e.g. "a.subject_new::attr(title)")')
    css = text[:m.start()].strip()
    if not css:
        raise ValueError(f'"{raw}": ::attr() needs a CSS selector before it (e.g. "span.date::attr(title)")')
    return FieldSelector(css, m.group(1))


def is_cut(visible: str) -> str | None:
    """The visible part of a title cut with an ellipsis, or None (see :func:`monitor.records.cut_stem`)."""
    return cut_stem(visible)


def _continues(candidate: str | None, stem: str) -> str | None:
    """``candidate`` on one line when it is the whole of a title cut to ``stem``."""
    if not candidate:
        return None
    whole = one_line(candidate)
    if len(whole) > len(stem) and whole.startswith(stem) and is_cut(whole) is None:
        return whole
    return None


def full_title(visible: str, link: LexborNode) -> str | None:
    """The link's (or its parent's) ``title`` attribute when the visible title is cut and the
    attribute starts with the visible part; None otherwise (an unrelated tooltip is not a title)."""
    stem = is_cut(visible)
    if stem is None:
        return None
    for node in (link, link.parent):
        whole = _continues(attr(node, "title") if node is not None else None, stem)
        if whole:
            return whole
    return None


# Where an item page names its thread, most specific first: MyBB's thread header, XenForo's
# page title, Open Graph, the first heading, the document title.
_PAGE_TITLE_SELECTORS = ("td.thead strong", "div.thead strong", "h1.p-title-value", "meta[property='og:title']",
                         "h1", "title")


def page_title(tree: LexborHTMLParser, visible: str) -> tuple[str, str] | None:
    """(whole title, where it was found) on a followed item page, for a listing title cut to
    ``visible``; None when no heading of the page continues the visible part."""
    stem = is_cut(visible)
    if stem is None:
        return None
    for selector in _PAGE_TITLE_SELECTORS:
        for node in tree.css(selector)[:5]:
            value = attr(node, "content") if node.tag == "meta" else node.text(deep=True, separator="")
            whole = _continues(value, stem)
            if whole:
                return whole, selector
    return None


# Links to a forum's thread list (not to a thread) in MyBB, XenForo and phpBB.
_FORUM_LINKS = ("a[href*='forumdisplay.php?fid=']", "a[href*='/Forum-']", "a[href^='Forum-']",
                ".node--forum .node-title a", "a[href*='/forums/']", "a.forumtitle", "a[href*='viewforum.php?f=']")
_FORUM_INDEX_MIN_LINKS = 2


def forum_index_hint(tree: LexborHTMLParser, page_url: str) -> str | None:
    """When a page without thread rows links to several forums, it is a forum index (the board's
    home, or a category): the reason to give instead of "outdated selectors or a login wall"."""
    forums: list[str] = []
    for node in tree.css(", ".join(_FORUM_LINKS)):      # in document order
        url = absolute_url(page_url, attr(node, "href"))
        if url and url not in forums and url.rstrip("/") != page_url.rstrip("/"):
            forums.append(url)
    if len(forums) < _FORUM_INDEX_MIN_LINKS:
        return None
    example = forums[0] if len(forums[0]) <= 150 else forums[0][:149] + "…"
    return (f"no items found: this page is a forum index ({len(forums)} forum links, no thread rows); "
            f"point the source's url at one forum's thread list, e.g. {example}")
