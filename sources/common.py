"""Helpers shared by the source kinds: decoding HTML, visible text, URLs and ids, following item pages.

Challenge and login pages are recognised in ``sources/pagechecks.py``, dates read in
``sources/dates.py``. Everything here takes attacker-written input: nothing may raise on junk;
it returns None or "" instead.
"""

from __future__ import annotations

import asyncio
import codecs
import hashlib
import logging
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from monitor.errors import ConfigError, FetchError, NotModified, OffOriginError
from monitor.records import Item
from sources.links import join_plain
from sources.visibletext import _CONTROLS, _INVISIBLE
from sources.visibletext import html_text as html_text  # the helpers of every kind, in one place
from sources.visibletext import tidy_text as tidy_text

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable

    from monitor.fetch import Page
    from monitor.sourceconfig import SourceConfig
    from sources.contract import PageFetcher, SourceState

log = logging.getLogger("sources")


_META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


# ---------------------------------------------------------------- parsing off the event loop

#: Pages at least this big are parsed in a worker thread (lexbor parses without the GIL): a
#: 10 MB listing must not stall the other polls, alert delivery and bot commands sharing the
#: event loop. Smaller ones are parsed in place, where a thread hop would cost more than it saves.
OFF_LOOP_BYTES = 256 * 1024

_T = TypeVar("_T")


async def off_loop(page: Page, parse: Callable[..., _T], *args: Any) -> _T:
    """``parse(page, *args)``, in a worker thread when the page is big. ``parse`` must be pure."""
    if len(page.body) < OFF_LOOP_BYTES:
        return parse(page, *args)
    return await asyncio.get_running_loop().run_in_executor(None, parse, page, *args)


# ---------------------------------------------------------------- decoding and text

def decode_html(body: bytes, charset: str | None = None) -> LexborHTMLParser:
    """Parse HTML bytes with the right character set; never raises.

    Order as in browsers: a byte-order mark or ``<meta charset>`` (selectolax detects them when
    given bytes), then ``charset`` (the HTTP Content-Type's, if the caller knows it), then UTF-8
    when the bytes are valid UTF-8, else windows-1252 (what browsers assume for undeclared pages;
    decoding it cannot fail). NUL bytes are dropped: they only ever serve to confuse parsers.
    """
    body = bytes(body).replace(b"\x00", b"")
    head = body[:1024]
    if head.startswith(_BOMS) or _META_CHARSET.search(head):
        return LexborHTMLParser(body, encoding=True)
    if charset and text_codec(charset):
        return LexborHTMLParser(body.decode(charset, errors="replace"))
    try:
        return LexborHTMLParser(body.decode("utf-8"))
    except UnicodeDecodeError:
        return LexborHTMLParser(body.decode("cp1252", errors="replace"))


def text_codec(name: str | None) -> bool:
    """True when ``name`` is a real text encoding (not base64, rot13 and such pseudo-codecs)."""
    if not name:
        return False
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return False
    return bool(getattr(info, "_is_text_encoding", True))


def raw_text(body: bytes, charset: str | None = None) -> str:
    """A text/plain body (a raw paste) as text: the declared charset or UTF-8, NULs dropped."""
    encoding = charset if text_codec(charset) else "utf-8"
    text = body.replace(b"\x00", b"").decode(encoding, errors="replace")  # type: ignore[arg-type]
    return _INVISIBLE.sub("", text).replace("\r\n", "\n").strip()


def one_line(text: str) -> str:
    """Text on one line (titles): every run of whitespace becomes one space, invisible characters go."""
    return " ".join(_INVISIBLE.sub("", text).split())


def line_text(node: LexborNode | None) -> str:
    """Visible text of a small node on one line (a title, an author, a date).

    Inline text joins as a browser shows it; selectolax does the walk in C, which matters at
    tens of thousands of rows. A node holding a script or a block falls back to ``html_text``.
    """
    if node is None:
        return ""
    for child in node.iter():              # elements inside: let the careful walk place the breaks
        if child.tag in _LINE_FALLBACK:
            return one_line(html_text(node))
    return one_line(_CONTROLS.sub("", node.text(deep=True, separator="")))


_LINE_FALLBACK = frozenset(("script", "style", "template", "noscript", "br", "p", "div", "li", "tr", "td", "th",
                            "table", "ul", "ol", "blockquote", "pre"))


def markup_to_text(value: str) -> str:
    """Text of an HTML fragment given as a string (feed summaries, API descriptions)."""
    if "<" not in value and "&" not in value:
        return tidy_text(value)
    tree = LexborHTMLParser(value.replace("\x00", ""))
    return html_text(tree.body)


def title_text(value: str) -> str:
    """A title from a string that may carry entities (``&amp;``) or tags: one line of plain text."""
    return one_line(markup_to_text(value))


def valid_selector(selector: str) -> bool:
    """True when selectolax (lexbor) can compile this CSS selector."""
    try:
        LexborHTMLParser("<html></html>").css(selector)
    except (SelectolaxError, ValueError, TypeError):
        return False
    return True


def attr(node: LexborNode | None, name: str) -> str | None:
    """An attribute's value, stripped; None when missing or empty."""
    if node is None:
        return None
    value = node.attributes.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


# ---------------------------------------------------------------- URLs and ids

_SESSION_PARAMS = frozenset({"sid", "phpsessid", "sessionid", "jsessionid"})


def absolute_url(base: str, href: str | None, *, keep_fragment: bool = False) -> str | None:
    """``href`` resolved against ``base`` (the page URL), fragment and session ids removed.

    ``keep_fragment`` keeps the ``#part`` (a URL an API gives, not an id to dedupe on).

    None for empty links and for schemes other than http(s) (``javascript:``, ``data:``...).
    """
    if not href:
        return None
    href = href.strip()
    if not href:
        return None
    plain = join_plain(base, href)      # a plain link under a plain page URL: no urljoin needed
    if plain is not None:
        scheme, netloc, path, query, fragment = plain
    else:
        try:
            scheme, netloc, path, query, fragment = urlsplit(urljoin(base, href))
        except ValueError:
            return None
        if scheme not in ("http", "https") or not netloc:
            return None
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if k.lower() not in _SESSION_PARAMS]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    return urlunsplit((scheme, netloc, path or "/", query, fragment if keep_fragment else ""))


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def stable_id(*parts: object) -> str:
    """A short, stable id from values (for records without an id or URL of their own)."""
    digest = hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode("utf-8"))
    return "sha256:" + digest.hexdigest()[:24]


def cut(text: str, limit: int = 120) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def reject_keys(src: SourceConfig, kind: str, *keys: str) -> None:
    """A config key that makes no sense for this kind of source is a mistake: say so (ConfigError)."""
    for key in keys:
        value = getattr(src, key)
        if value is not None and value is not False and value != {} and not (key == "pages" and value == 1):
            raise ConfigError("", key, f"makes no sense for {kind} source")


GONE = (404, 410)   # a deleted thread or paste: the item is kept without its text


async def follow_new(fetch: PageFetcher, source: str, items: list[Item], state: SourceState,
                     text_of: Callable[[Item], Awaitable[str]]) -> list[Item]:
    """Fetch the text of each NEW item once (``text_of``); known items come back with text None.

    An item page that is gone (404/410) or off the source's origin leaves the item without its
    text; one that fails otherwise (timeout, 5xx) leaves the item out of this poll, so that it is
    still new, and fetched again, next time. When two or more pages fail and none worked, the
    site (or the route to it) is down: the poll fails with the first error.
    """
    known = await state.known([item.item_id for item in items])
    out: list[Item] = []
    errors: list[FetchError] = []
    fetched = 0
    for item in items:
        if item.item_id in known:
            out.append(replace(item, text=None))
            continue
        text = ""
        where = item.body_url or item.url
        try:
            text = await text_of(item)
            fetched += 1
        except OffOriginError:
            log.warning("%s: item %s links outside the source's origin (%s): kept without its text",
                        source, item.item_id, where)
        except FetchError as exc:
            if exc.status not in GONE:
                errors.append(exc)
                state.left_out.add(item.item_id)
                log.warning("%s: item page %s failed: %s (retried next poll)", source, where, exc.reason)
                continue
            log.warning("%s: item page %s is gone (%s): kept without its text", source, where, exc.reason)
        except NotModified:
            log.warning("%s: item page %s answered 304 to an unconditional request", source, where)
        out.append(replace(item, text=text))
    if len(errors) >= 2 and fetched == 0:
        raise errors[0]
    return out


def records_to_items(records: Iterable[Any], to_item: Callable[[Any], Item | None], source: str,
                     what: str, why: str) -> list[Item]:
    """Items of API records, first of each id kept; a bad record is skipped and counted, never fatal."""
    items: dict[str, Item] = {}
    skipped = 0
    for record in records:
        item = to_item(record)
        if item is None:
            skipped += 1
            continue
        items.setdefault(item.item_id, item)
    if skipped:
        log.warning("%s: %d %s skipped (%s)", source, skipped, what, why)
    return list(items.values())
