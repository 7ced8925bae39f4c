"""Public Telegram channels through their web preview ``https://t.me/s/<channel>``.

Each message is a ``div.tgme_widget_message`` whose ``data-post`` is ``channel/123`` (the id).
The text is the message's own ``div.tgme_widget_message_text``: a reply carries the quoted
message in ``.tgme_widget_message_reply``, and that quote is not the message's text.
The page shows the latest ~20 messages; older ones are at ``?before=<id>``: when the source
already knows a message, pages are read back until it (at most ``pages`` pages).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from monitor.errors import ConfigError, ParseError
from monitor.hosts import host_of
from monitor.records import Item
from sources.common import (
    attr,
    cut,
    decode_html,
    html_text,
    one_line,
    reject_keys,
)
from sources.dates import parse_date
from sources.pagechecks import check_challenge
from sources.parsepool import in_worker

if TYPE_CHECKING:
    from monitor.fetch import Page
    from monitor.sourceconfig import SourceConfig
    from sources.contract import PageFetcher, SourceState

KIND = "telegram"
TITLE_LIMIT = 120
MEDIA_TITLE = "(media)"

log = logging.getLogger(__name__)

_CHANNEL = r"[A-Za-z][A-Za-z0-9_]{3,31}"
_PREVIEW_URL = re.compile(rf"^https://t\.me/s/({_CHANNEL})/?$")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_LOOPBACK_PATH = re.compile(rf"^/s/({_CHANNEL})/?$")
_POST = re.compile(rf"^({_CHANNEL})/(\d{{1,12}})$")


@dataclass(frozen=True)
class Options:
    """Typed parameters of a telegram source."""

    source: str
    url: str
    channel: str
    pages: int = 1


def make_options(src: SourceConfig) -> Options:
    """Check a telegram source: its url must be a channel preview ``https://t.me/s/<channel>``."""
    reject_keys(src, "a telegram", "preset", "items", "selectors", "fields")
    if src.follow:
        raise ConfigError("", "follow", "makes no sense for a telegram source (the preview shows the whole text)")
    channel = channel_of(src.url)
    if channel is None:
        raise ConfigError("", "url", f'"{src.url}" is not a public channel preview URL '
                                     "(https://t.me/s/<channel>)")
    return Options(source=src.name, url=src.url.rstrip("/"), channel=channel, pages=src.pages)


def channel_of(url: str) -> str | None:
    """The channel name of a preview URL, or None.

    Besides ``https://t.me/s/<channel>``, a loopback server with the path ``/s/<channel>`` is
    accepted: the demo and the tests serve saved previews there.
    """
    match = _PREVIEW_URL.match(url)
    if match:
        return match.group(1)
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = host_of(url)
    if parts.scheme in ("http", "https") and host in _LOOPBACK_HOSTS and not parts.query:
        match = _LOOPBACK_PATH.match(parts.path)
        if match:
            return match.group(1)
    return None


# ---------------------------------------------------------------- parsing

@dataclass(frozen=True)
class PreviewPage:
    """One parsed preview page: its messages and the ``data-before`` of its "more" link."""

    items: list[Item]
    before: int | None


def parse(page: Page, opts: Options) -> list[Item]:
    """The messages of one preview page, oldest first. [] for a valid channel without messages."""
    return parse_preview(page, opts).items


def parse_preview(page: Page, opts: Options) -> PreviewPage:
    """Messages and the "load older" cursor of one preview page. Raises ParseError for other pages."""
    tree = decode_html(page.body, page.charset)
    items: dict[str, Item] = {}
    for node in tree.css("div.tgme_widget_message[data-post]"):
        item = _message(node, opts)
        if item is not None:
            items.setdefault(item.item_id, item)
    if not items:
        if tree.css_first(".tgme_channel_info") is not None and tree.css_first(".tgme_widget_message") is None:
            return PreviewPage(items=[], before=None)
        check_challenge(page, tree)
        raise ParseError("no messages found: not a public channel preview (t.me/s/<channel>)")
    before = _before(tree)
    ordered = sorted(items.values(), key=lambda item: message_number(item.item_id) or 0)
    return PreviewPage(items=ordered, before=before)


def message_number(item_id: str | None) -> int | None:
    """123 for ``"channel/123"``; None for anything else."""
    if not item_id:
        return None
    match = _POST.match(item_id)
    return int(match.group(2)) if match else None


def _before(tree: LexborHTMLParser) -> int | None:
    value = attr(tree.css_first("a.tme_messages_more[data-before]"), "data-before")
    return int(value) if value and value.isdigit() and len(value) <= 12 else None


def _in_reply(node: LexborNode, message: LexborNode) -> bool:
    """True when ``node`` sits inside the quoted reply block of ``message``."""
    current = node.parent
    while current is not None and current.mem_id != message.mem_id:
        if "tgme_widget_message_reply" in (attr(current, "class") or "").split():
            return True
        current = current.parent
    return False


def _own(message: LexborNode, selector: str) -> LexborNode | None:
    """The first match of ``selector`` in the message that is not part of a quoted reply."""
    for node in message.css(selector):
        classes = (attr(node, "class") or "").split()
        if "js-message_reply_text" in classes or _in_reply(node, message):
            continue
        return node
    return None


def _message(node: LexborNode, opts: Options) -> Item | None:
    post = attr(node, "data-post") or ""
    match = _POST.match(post)
    if not match:
        return None
    channel, number = match.group(1), match.group(2)
    text = html_text(_own(node, "div.tgme_widget_message_text"))
    first_line = next((line for line in text.split("\n") if line.strip()), "")
    title = cut(first_line, TITLE_LIMIT) if first_line else MEDIA_TITLE
    owner = one_line(html_text(_own(node, ".tgme_widget_message_owner_name"))) or None
    forwarded = one_line(html_text(_own(node, ".tgme_widget_message_forwarded_from_name"))) or None
    if forwarded and owner:
        author: str | None = f"{owner} (forwarded from {forwarded})"
    else:
        author = owner or forwarded
    date_node = _own(node, ".tgme_widget_message_date time[datetime]")
    date = parse_date(attr(date_node, "datetime"))
    url = f"https://t.me/{channel}/{number}"
    return Item(source=opts.source, item_id=f"{channel}/{number}", url=url, title=title, text=text,
                author=author, date=date)


# ---------------------------------------------------------------- collecting

async def collect(fetch: PageFetcher, opts: Options, state: SourceState) -> list[Item]:
    """The latest page, then older pages (``?before=``) until the last known message, at most ``pages``."""
    page = await fetch.get(opts.url, conditional=True)
    preview = await in_worker(page, parse_preview, opts)
    items: dict[str, Item] = {item.item_id: item for item in preview.items}
    last = _last_known(state.last_item_id, opts.channel)
    read = 1
    previous_cursor: int | None = None
    while last is not None and read < opts.pages and preview.items:
        numbers = [n for n in (message_number(item.item_id) for item in preview.items) if n is not None]
        oldest = min(numbers)
        if oldest <= last + 1:
            break  # the page reaches what we already have: nothing missed
        cursor = preview.before if preview.before is not None and preview.before <= oldest else oldest
        if previous_cursor is not None and cursor >= previous_cursor:
            break  # no progress: a page that does not page back
        previous_cursor = cursor
        preview = await in_worker(await fetch.get(f"{opts.url}?before={cursor}"), parse_preview, opts)
        read += 1
        for item in preview.items:
            items.setdefault(item.item_id, item)
    if last is not None and read >= opts.pages and preview.items:
        numbers = [n for n in (message_number(item.item_id) for item in preview.items) if n is not None]
        if numbers and min(numbers) > last + 1:
            log.info("%s: %d page(s) read and message %d not reached: older messages are skipped",
                     opts.source, read, last)
    return sorted(items.values(), key=lambda item: message_number(item.item_id) or 0)


def _last_known(last_item_id: str | None, channel: str) -> int | None:
    match = _POST.match(last_item_id or "")
    if not match or match.group(1).lower() != channel.lower():
        return None
    return int(match.group(2))
