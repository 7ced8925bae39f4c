"""RSS and Atom feeds, read with feedparser from the fetched bytes (feedparser never fetches here)."""

from __future__ import annotations

import calendar
import html
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from xml.sax import SAXException

import feedparser

from monitor.errors import ConfigError, ParseError
from monitor.records import Item
from sources.common import (
    absolute_url,
    markup_to_text,
    one_line,
    reject_keys,
    stable_id,
    title_text,
)
from sources.dates import parse_date
from sources.pagechecks import check_challenge, looks_like_html
from sources.parsepool import in_worker

if TYPE_CHECKING:
    from monitor.fetch import Page
    from monitor.sourceconfig import SourceConfig
    from sources.contract import PageFetcher, SourceState

KIND = "rss"
NOT_A_FEED = "not an RSS or Atom feed"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    """Typed parameters of an rss source."""

    source: str
    url: str


def make_options(src: SourceConfig) -> Options:
    """Check an rss source: only url (and the network keys) make sense."""
    reject_keys(src, "an rss", "preset", "items", "selectors", "fields")
    if src.follow:
        raise ConfigError("", "follow", "is not supported for rss sources (the feed's summary is the text)")
    if src.pages != 1:
        raise ConfigError("", "pages", "makes no sense for an rss source (a feed is one document)")
    return Options(source=src.name, url=src.url)


async def collect(fetch: PageFetcher, opts: Options, state: SourceState) -> list[Item]:
    """Fetch the feed (conditionally: feeds are polled often and rarely change) and parse it."""
    page = await fetch.get(opts.url, conditional=True)
    return await in_worker(page, parse, opts)   # big documents: in a worker, under the parse deadline


def parse(page: Page, opts: Options) -> list[Item]:
    """Entries of a feed as items. Raises ParseError for a document that is not a feed."""
    try:
        # Bytes, never a str: given a str that looks like a URL or a path, feedparser would open it.
        feed = feedparser.parse(bytes(page.body), response_headers=_headers(page))
    except (ValueError, TypeError, LookupError, RecursionError, SAXException) as exc:
        # feedparser reports broken feeds as "bozo" rather than raising; these are its leftovers.
        raise ParseError(f"{NOT_A_FEED}: {type(exc).__name__}") from exc
    entries = list(feed.get("entries") or [])
    if not entries:
        has_title = bool((feed.get("feed") or {}).get("title"))
        if (feed.get("bozo") and not has_title) or not _is_feed(feed):
            if looks_like_html(page.body):
                check_challenge(page)
            raise ParseError(NOT_A_FEED)
        return []
    items: dict[str, Item] = {}
    skipped = 0
    for entry in entries:
        item = _entry_item(entry, page.url, opts)
        if item is None:
            skipped += 1
            continue
        items.setdefault(item.item_id, item)
    if skipped:
        log.warning("%s: %d feed entr%s without a title or link skipped", opts.source, skipped,
                    "y" if skipped == 1 else "ies")
    return list(items.values())


def _headers(page: Page) -> dict[str, str]:
    # Only the content type matters (its charset); nothing else of the response goes to feedparser.
    content_type = page.headers.get("content-type")
    return {"content-type": content_type} if content_type else {}


def _is_feed(feed: Any) -> bool:
    return bool(feed.get("version")) or bool((feed.get("feed") or {}).get("title"))


def _entry_item(entry: Any, base: str, opts: Options) -> Item | None:
    link = absolute_url(base, _text(entry.get("link")))
    title_detail = entry.get("title_detail") or {}
    raw_title = _text(entry.get("title"))
    if "html" in str(title_detail.get("type", "")):
        title = title_text(raw_title)
    else:
        # Feeds often escape titles twice ("AT&amp;amp;T"): one more unescape gives what was meant.
        title = one_line(html.unescape(raw_title))
    text = _content(entry)
    if not title:
        title = one_line(text.split("\n", 1)[0])[:120] if text else ""
    if not title and not link:
        return None
    date = _date(entry)
    item_id = _text(entry.get("id")) or link or stable_id(title, date.isoformat() if date else "")
    author = one_line(_text(entry.get("author"))) or None
    return Item(source=opts.source, item_id=item_id.strip(), url=link or base, title=title or link or "",
                text=text, author=author, date=date)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _content(entry: Any) -> str:
    """The entry's full content when it has one, else its summary; markup stripped, lines kept."""
    for block in entry.get("content") or []:
        value = _text(block.get("value")) if isinstance(block, dict) else ""
        if value.strip():
            return markup_to_text(value)
    return markup_to_text(_text(entry.get("summary")))


def _date(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
            except (OverflowError, ValueError, OSError, TypeError):
                continue
    for key in ("published", "updated"):
        moment = parse_date(_text(entry.get(key)))
        if moment is not None:
            return moment
    return None
