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

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable

    from monitor.fetch import Page
    from monitor.sourceconfig import SourceConfig
    from sources.contract import PageFetcher, SourceState

log = logging.getLogger("sources")


# Elements whose text is laid out on lines of its own: a line break before and after.
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "center", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "thead",
    "tfoot", "tr", "ul", "caption", "body", "html",
})
_CELL_TAGS = frozenset({"td", "th"})
# Never visible text: scripts are attacker code, not content.
_SKIP_TAGS = frozenset({"script", "style", "template", "noscript", "head", "title", "iframe", "object"})
_PRE_TAGS = frozenset({"pre", "textarea", "plaintext", "listing", "xmp"})

_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Invisible characters that reorder or split text: attackers use them to disguise file names
# ("\u202efdp.exe") and to break words so a watched name does not match ("Medi\u200bboard").
_INVISIBLE = re.compile(r"[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_BLOCK_BREAK = "\x01"
_BLOCK_RUN = re.compile(r"[ \t]*\x01[\x01 \t]*")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
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


def html_text(node: LexborNode | None) -> str:
    """Visible text of a node, with line breaks where <br>, <p>, <div> and other blocks put them.

    Runs of spaces in a line become one space, lines are stripped, and at most one empty line
    separates paragraphs. Scripts and styles are left out. Iterative, so an attacker's
    100,000 nested <div>s cannot exhaust the recursion limit.
    """
    if node is None:
        return ""
    # One pass over lexbor's own depth-first walk (in C): per node one tag read, and the node's
    # id compared with where the innermost open block ends, instead of a Python stack entry per
    # node (a listing row holds ~25 nodes; this is ~2x faster than walking children lists).
    parts: list[str] = []
    append = parts.append
    # Open elements that matter after their last descendant: [id of the node after the element's
    # subtree (None: the end of the walk), text to emit then, pre levels it opened, skipped].
    open_: list[tuple[int | None, str, int, bool]] = []
    pre = 0
    skipping = False
    root = True
    root_id = node.mem_id
    closing_root = ""
    ends: dict[int, int | None] = {}
    for current in node.traverse(include_text=True):
        if open_:
            here = current.mem_id
            while open_ and open_[-1][0] == here:
                _, closing, levels, skipped = open_.pop()
                pre -= levels
                if skipped:
                    skipping = False
                elif closing:
                    append(closing)
        tag = current.tag
        if tag == "-text":
            if not skipping:
                text = _CONTROLS.sub("", current.text_content or "")
                # Outside <pre> a newline in the source is layout, not content.
                append(text if pre else text.replace("\n", " "))
            root = False
            continue
        if skipping:
            continue
        if tag is None and current.is_element_node:
            tag = ""
        if tag is None or tag in ("-comment", "-doctype") or (tag in _SKIP_TAGS and not root) or tag == "br":
            # Not shown, nor anything under it (a <br> is one line break).
            if tag == "br":
                append("\n")
            if current.first_child is not None:
                if root:
                    break
                open_.append((_after(current, root_id, ends), "", 0, True))
                skipping = True
            root = False
            continue
        levels = 1 if tag in _PRE_TAGS else 0
        closing = ""
        if tag in _BLOCK_TAGS:
            append(_BLOCK_BREAK)
            closing = _BLOCK_BREAK
        elif tag in _CELL_TAGS:
            append(" ")
            closing = " "
        if root:
            pre, closing_root, root = levels, closing, False
        elif levels or closing:
            pre += levels
            open_.append((_after(current, root_id, ends), closing, levels, False))
    while open_:
        _, closing, _, skipped = open_.pop()
        if closing and not skipped:
            append(closing)
    append(closing_root)
    # Adjacent block edges make one line break; only <br><br> makes an empty line.
    return tidy_text(_BLOCK_RUN.sub("\n", "".join(parts)))


def _after(node: LexborNode, root_id: int, known: dict[int, int | None]) -> int | None:
    """The id of the first node after ``node``'s subtree in a walk of the root's subtree (None:
    the walk ends there). ``known`` keeps the answer for every node walked through: a node without
    a next sibling ends where its parent ends, so 20,000 nested blocks cost 20,000 steps, not
    20,000 squared."""
    walked: list[int] = []
    current: LexborNode | None = node
    end: int | None = None
    while current is not None:
        here: int = current.mem_id
        if here == root_id:
            break
        if here in known:
            end = known[here]
            break
        walked.append(here)
        following = current.next
        if following is not None:
            end = following.mem_id
            break
        current = current.parent
    for here in walked:
        known[here] = end
    return end


def tidy_text(text: str) -> str:
    """Collapse spaces inside lines, strip lines, keep at most one empty line in a row.

    Bidi overrides, zero-width characters and soft hyphens are removed.
    """
    text = _INVISIBLE.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


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
