"""HTML listings read with CSS selectors: forums (MyBB, XenForo, phpBB), paste archives, any site.

A listing page has one element per item (``selectors.item``); inside it ``title`` and ``link``
(an ``href``, resolved against the page URL), optionally ``author`` and ``date``. ``next`` is the
next-page link (followed up to ``pages`` pages, same origin only). With ``follow = true`` each NEW
item's page is fetched once and ``body`` selects its text there.

Presets name the selectors and the id rule of known forum engines; ``selectors`` given with a
preset override single selectors of it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from monitor.errors import ConfigError, FetchError, NotModified, OffOriginError, ParseError
from monitor.records import Item
from sources.common import (
    absolute_url,
    attr,
    decode_html,
    follow_new,
    html_text,
    raw_text,
    valid_selector,
)
from sources.html_options import Options, Preset, Selectors
from sources.html_rows import Field, row_fields
from sources.pagechecks import check_challenge
from sources.parsepool import in_worker
from sources.selectors import forum_index_hint, page_title, parse_selector

if TYPE_CHECKING:
    from monitor.fetch import Page
    from monitor.sourceconfig import SourceConfig
    from sources.contract import PageFetcher, SourceState

# The source-kind contract (Options is defined in sources/html_options.py and exported from here).
__all__ = ["KIND", "Options", "collect", "make_options", "parse"]

KIND = "html"
SELECTOR_KEYS = ("item", "title", "link", "author", "date", "body", "next")
NO_ITEMS = "no items found: the item selector matched nothing (outdated selectors or a login wall)"

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- id rules of the presets

_TID_ATTR = re.compile(r"^tid_(\d+)$")
_SEO_THREAD = re.compile(r"/(Thread-[^/?#]+)")
_XF_CLASS = re.compile(r"\bjs-threadListItem-(\d+)\b")
_XF_HREF = re.compile(r"/threads/(?:[^/]*\.)?(\d+)/?")
_PASTE_KEY = re.compile(r"^/([A-Za-z0-9]{8})/?$")


def _query_value(url: str, name: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get(name)
    if values and values[0].isdigit():
        return values[0]
    return None


def _mybb_id(row: LexborNode, link: LexborNode, url: str) -> str | None:
    """MyBB: the tid from ``span#tid_123`` (or the link's own id), else ``tid=`` or an SEO slug."""
    for node in (link, link.parent):
        match = _TID_ATTR.match(attr(node, "id") or "")
        if match:
            return match.group(1)
    tid = _query_value(url, "tid")
    if tid:
        return tid
    # SEO URLs (Thread-subject) carry no tid; the slug survives the forum moving to a new
    # onion address, the URL would not.
    match = _SEO_THREAD.search(urlsplit(url).path)
    return match.group(1) if match else None


def _xenforo_id(row: LexborNode, link: LexborNode, url: str) -> str | None:
    """XenForo 2: ``js-threadListItem-<id>`` in the row's class, else ``/threads/slug.<id>/``."""
    match = _XF_CLASS.search(attr(row, "class") or "")
    if match:
        return match.group(1)
    match = _XF_HREF.search(urlsplit(url).path)
    return match.group(1) if match else None


def _phpbb_id(row: LexborNode, link: LexborNode, url: str) -> str | None:
    """phpBB: the topic id ``t=123`` of ``viewtopic.php``."""
    return _query_value(url, "t")


def _paste_key(row: LexborNode, link: LexborNode, url: str) -> str | None:
    """pastebin.com archive: the 8-character paste key that is the whole link path."""
    match = _PASTE_KEY.match(urlsplit(url).path)
    return match.group(1) if match else None


PRESETS: dict[str, Preset] = {
    "mybb": Preset(
        selectors={
            "item": "tr.inline_row",
            "title": "span[id^='tid_'] > a, a[id^='tid_']",
            "link": "span[id^='tid_'] > a, a[id^='tid_']",
            "author": "span.author a, div.author a, .author",
            "date": "span.thread_start_datetime, .thread_start_datetime",
            "body": "div.post_body",
            "next": "a.pagination_next",
        },
        item_id=_mybb_id,
        full_title=True,
    ),
    "xenforo": Preset(
        selectors={
            "item": "div.structItem--thread",
            "title": "div.structItem-title a",
            "link": "div.structItem-title a",
            "author": ".structItem-minor a.username, a.username",
            "date": "li.structItem-startDate time, time[datetime]",
            "body": "article.message-body div.bbWrapper",
            "next": "a.pageNav-jump--next",
        },
        item_id=_xenforo_id,
        author_attr="data-author",
        title_last=True,
        full_title=True,
    ),
    "phpbb": Preset(
        selectors={
            "item": "ul.topiclist.topics li.row",
            "title": "a.topictitle",
            "link": "a.topictitle",
            "author": ".topic-poster a.username, .topic-poster a.username-coloured, "
                      "a.username, a.username-coloured",
            "date": ".topic-poster time, time[datetime]",
            "body": "div.postbody div.content",
            "next": "a.button[rel='next'], li.next a, a[rel='next']",
        },
        item_id=_phpbb_id,
    ),
    "pastebin-archive": Preset(
        selectors={
            "item": "table.maintable tr",
            "title": "td a[href^='/']",
            "link": "td a[href^='/']",
        },
        item_id=_paste_key,
        id_required=True,
        raw_body=True,
    ),
}


# ---------------------------------------------------------------- options

def make_options(src: SourceConfig) -> Options:
    """Check an html source's keys (preset, selectors) and build its Options."""
    if src.items is not None:
        raise ConfigError("", "items", "is only for json sources (html sources use selectors)")
    if src.fields:
        raise ConfigError("", "fields", "is only for json sources (html sources use selectors)")
    preset = PRESETS.get(src.preset) if src.preset is not None else None
    if src.preset is not None and preset is None:
        raise ConfigError("", "preset", f'"{src.preset}" is not an html preset '
                                        f"(one of: {', '.join(PRESETS)})")
    for key, selector in src.selectors.items():
        if key not in SELECTOR_KEYS:
            raise ConfigError("", f"selectors.{key}", f"unknown selector (expected one of: "
                                                      f"{', '.join(SELECTOR_KEYS)})")
        if not selector.strip():
            raise ConfigError("", f"selectors.{key}", "must not be empty")
        try:
            parsed = parse_selector(selector)
        except ValueError as exc:
            raise ConfigError("", f"selectors.{key}", str(exc)) from None
        if parsed.attr is not None and key == "item":
            raise ConfigError("", "selectors.item", "selects the rows: ::attr() makes no sense there")
        if not valid_selector(parsed.css):
            raise ConfigError("", f"selectors.{key}", f'"{parsed.css}" is not a valid CSS selector')
    merged = {**(preset.selectors if preset else {}), **src.selectors}
    if preset is None:
        for key in ("item", "title", "link"):
            if key not in merged:
                raise ConfigError("", f"selectors.{key}",
                                  "is required for an html source without a preset "
                                  "(give preset = \"mybb\" | \"xenforo\" | ... or selectors item, title and link)")
    if src.follow and "body" not in merged and not (preset and preset.raw_body):
        raise ConfigError("", "selectors.body", "follow = true needs a body selector for the item pages")
    selectors = Selectors(item=merged["item"], title=merged["title"], link=merged["link"],
                          author=merged.get("author"), date=merged.get("date"), body=merged.get("body"),
                          next=merged.get("next"))
    return Options(source=src.name, url=src.url, selectors=selectors, preset=src.preset,
                   follow=src.follow, pages=src.pages)


# ---------------------------------------------------------------- parsing

@dataclass(frozen=True)
class Listing:
    """One parsed listing page: its items, the next-page URL, and rows that were not items."""

    items: list[Item]
    next_url: str | None
    skipped: int


def parse(page: Page, opts: Options) -> list[Item]:
    """Items of one listing page (text = the row's text). Raises ParseError when there are none."""
    return parse_listing(page, opts).items


def parse_listing(page: Page, opts: Options, tree: LexborHTMLParser | None = None) -> Listing:
    """Items and the next-page link of one listing page.

    Raises ParseError "login or challenge page" or "no items found: ..." when no item is found.
    """
    if tree is None:
        tree = decode_html(page.body, page.charset)
    preset = PRESETS.get(opts.preset or "")
    sel = opts.selectors
    rows = tree.css(sel.item)
    items: list[Item] = []
    seen: set[str] = set()
    skipped = 0
    for row in rows:
        item = _row_item(row, page.url, opts, preset)
        if item is None:
            skipped += 1
            continue
        if item.item_id in seen:
            continue
        seen.add(item.item_id)
        items.append(item)
    if not items:
        check_challenge(page, tree)
        if rows:
            raise ParseError(f"no items found: the item selector matched {len(rows)} element(s) but none "
                             "had a title and a link (outdated selectors?)")
        raise ParseError(forum_index_hint(tree, page.url) or NO_ITEMS)
    if skipped:
        log.debug("%s: %d row(s) without a title and link skipped", opts.source, skipped)
    next_url = None
    if sel.next:
        nxt = parse_selector(sel.next)
        next_url = absolute_url(page.url, attr(tree.css_first(nxt.css), nxt.attr or "href"))
    return Listing(items=items, next_url=next_url, skipped=skipped)


def _row_item(row: LexborNode, page_url: str, opts: Options, preset: Preset | None) -> Item | None:
    fields = row_fields(row, page_url, opts, preset)
    if fields is None:
        return None
    return Item(source=opts.source, item_id=str(fields["item_id"][0]), url=str(fields["url"][0]),
                title=str(fields["title"][0]), text=fields["text"][0],  # type: ignore[arg-type]
                author=fields["author"][0], date=fields["date"][0],  # type: ignore[arg-type]
                body_url=fields["body_url"][0])  # type: ignore[arg-type]


def explain(page: Page, opts: Options, limit: int = 3) -> list[dict[str, Field]]:
    """The fields of the first ``limit`` items of a listing page with where each came from."""
    tree = decode_html(page.body, page.charset)
    preset = PRESETS.get(opts.preset or "")
    out: list[dict[str, Field]] = []
    for row in tree.css(parse_selector(opts.selectors.item).css):
        fields = row_fields(row, page.url, opts, preset)
        if fields is not None:
            out.append(fields)
            if len(out) >= limit:
                break
    return out


# ---------------------------------------------------------------- collecting

async def collect(fetch: PageFetcher, opts: Options, state: SourceState) -> list[Item]:
    """Read up to ``pages`` listing pages, then (``follow``) each new item's page for its text."""
    items: dict[str, Item] = {}
    url: str | None = opts.url
    visited: set[str] = set()
    for number in range(opts.pages):
        if url is None or url in visited:
            break
        visited.add(url)
        if number == 0:
            # The first page decides: a 304 (NotModified) or a ParseError fails or ends the poll.
            page = await fetch.get(url, conditional=True)
            listing = await in_worker(page, parse_listing, opts)
        else:
            try:
                page = await fetch.get(url)
                listing = await in_worker(page, parse_listing, opts)
            except (FetchError, ParseError, NotModified) as exc:
                # The newest items are on page 1: a broken deeper page costs only older items.
                log.warning("%s: listing page %d (%s) skipped: %s", opts.source, number + 1, url, exc)
                break
        for item in listing.items:
            items.setdefault(item.item_id, item)
        url = listing.next_url
        if url is not None and not fetch.same_origin(url):
            log.warning("%s: next-page link %s leaves the source's origin: not followed", opts.source, url)
            url = None
    found = list(items.values())
    if not opts.follow:
        return found
    return await _follow(fetch, opts, state, found)


async def _follow(fetch: PageFetcher, opts: Options, state: SourceState, items: list[Item]) -> list[Item]:
    """Fetch each new item's page once for its body; known items come back with text None.

    A listing title cut with an ellipsis is replaced by the item page's own title when the page
    has one that continues it.
    """
    titles: dict[str, str] = {}

    async def text_of(item: Item) -> str:
        body_url = item.body_url or item.url
        if not fetch.same_origin(body_url):
            raise OffOriginError("link outside the source's origin", body_url)
        page = await fetch.get(body_url)
        try:
            text, whole = await in_worker(page, _item_page, opts, item.title)
        except ParseError as exc:
            # A thread page that stalls the parser (a hostile post) or kills it: the item keeps its
            # listing title, and the next poll, which knows it, does not fetch that page again.
            log.warning("%s: item page %s could not be parsed (%s): kept without its text", opts.source,
                        body_url, exc.reason)
            return ""
        if whole:
            titles[item.item_id] = whole
        return text

    followed = await follow_new(fetch, opts.source, items, state, text_of)
    if not titles:
        return followed
    return [replace(item, title=titles[item.item_id]) if item.item_id in titles else item for item in followed]


def item_text(page: Page, opts: Options) -> str:
    """The text of a followed item page: the ``body`` selector's first match, or a raw text page."""
    return _item_page(page, opts, "")[0]


def _item_page(page: Page, opts: Options, listed_title: str) -> tuple[str, str | None]:
    """(text, the page's whole title when ``listed_title`` was cut and the page continues it)."""
    preset = PRESETS.get(opts.preset or "")
    if (preset is not None and preset.raw_body) or page.content_type == "text/plain":
        return raw_text(page.body, page.charset), None
    tree = decode_html(page.body, page.charset)
    found = page_title(tree, listed_title) if listed_title else None
    whole = found[0] if found else None
    if not opts.selectors.body:
        return html_text(tree.body), whole
    body = parse_selector(opts.selectors.body)
    node = tree.css_first(body.css)
    if node is None:
        log.warning("%s: the body selector matched nothing on %s", opts.source, page.url)
        return "", whole
    return (attr(node, body.attr) or "" if body.attr else html_text(node)), whole
