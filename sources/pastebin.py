"""Pastebin's scraping API (Pastebin PRO, whitelisted IP).

``api_scraping.php?limit=100`` lists recent pastes as JSON (``key, full_url, date, title, user``...);
the text of each NEW paste comes from ``api_scrape_item.php?i=<key>`` on the same host.
Known pastes are never fetched again (their text is None).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from monitor.errors import ConfigError, ParseError
from monitor.records import Item
from sources.common import (
    absolute_url,
    follow_new,
    off_loop,
    one_line,
    raw_text,
    records_to_items,
    reject_keys,
)
from sources.dates import parse_date
from sources.pagechecks import load_json

if TYPE_CHECKING:
    from monitor.fetch import Page
    from monitor.sourceconfig import SourceConfig
    from sources.contract import PageFetcher, SourceState

KIND = "pastebin"
REFUSED = "pastebin scraping API refused this IP: it must be whitelisted (Pastebin PRO)"
ITEM_ENDPOINT = "api_scrape_item.php"

log = logging.getLogger(__name__)

_KEY = re.compile(r"^[A-Za-z0-9]{4,16}$")
_REFUSED = re.compile(rb"DOES NOT HAVE ACCESS", re.I)


@dataclass(frozen=True)
class Options:
    """Typed parameters of a pastebin source."""

    source: str
    url: str


def make_options(src: SourceConfig) -> Options:
    """Check a pastebin source: the url is the scraping API listing; no selectors, fields or presets."""
    reject_keys(src, "a pastebin", "preset", "items", "selectors", "fields")
    if src.pages != 1:
        raise ConfigError("", "pages", "makes no sense for a pastebin source (use ?limit= in the url)")
    return Options(source=src.name, url=src.url)


def item_url(opts: Options, key: str) -> str:
    """The scraping API URL of one paste's text, next to the listing endpoint (same origin)."""
    return urljoin(opts.url, f"{ITEM_ENDPOINT}?i={key}")


def parse(page: Page, opts: Options) -> list[Item]:
    """Pastes of one API listing (text unknown: None). ParseError when the API refuses or answers junk."""
    body = page.body
    if _REFUSED.search(body[:2000]):
        raise ParseError(REFUSED)
    records = load_json(page)
    if not isinstance(records, list):
        raise ParseError("the pastebin scraping API answer is not a list")
    return records_to_items(records, lambda record: _paste(record, page, opts), opts.source,
                            "paste record(s)", "not an object or no valid key")


def _str(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    return value.strip() if isinstance(value, str) else ""


def _paste(record: Any, page: Page, opts: Options) -> Item | None:
    if not isinstance(record, dict):
        return None
    key = _str(record.get("key"))
    if not _KEY.match(key):
        return None
    url = absolute_url(page.url, _str(record.get("full_url"))) or f"https://pastebin.com/{key}"
    title = one_line(_str(record.get("title"))) or f"(untitled paste {key})"
    return Item(source=opts.source, item_id=key, url=url, title=title, text=None,
                author=one_line(_str(record.get("user"))) or None, date=parse_date(_str(record.get("date"))),
                body_url=item_url(opts, key))


async def collect(fetch: PageFetcher, opts: Options, state: SourceState) -> list[Item]:
    """The listing, then the text of each paste the store does not know yet."""
    page = await fetch.get(opts.url, conditional=True)
    items = await off_loop(page, parse, opts)

    async def text_of(item: Item) -> str:
        body_page = await fetch.get(item.body_url or item_url(opts, item.item_id))
        if _REFUSED.search(body_page.body[:2000]):
            raise ParseError(REFUSED)
        return raw_text(body_page.body, body_page.charset)

    return await follow_new(fetch, opts.source, items, state, text_of)
