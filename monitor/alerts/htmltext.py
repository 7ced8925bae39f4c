"""Outside text as Telegram HTML within Telegram's limits: pure functions, no I/O.

Scraped text is written by attackers, so every piece of it goes through the same three steps,
in this order:

1. ``clean``: bidi overrides/isolates, zero-width and other format characters, control characters
   and lone surrogates are removed (they let a title pose as another, or hide a term);
2. ``clip``: the field is cut to its budget of UTF-16 code units (Telegram counts those) BEFORE
   escaping, so an escape sequence is never cut in half;
3. ``html.escape(quote=True)``.

``safe`` does all three; ``safe_url`` lets only http(s) and t.me links through; ``to_plain`` turns
our HTML back into text; ``join_lines`` fits blocks of our HTML into one message.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

from monitor.privacy import mask_text

MAX_MESSAGE = 4096          # Telegram's limit, in UTF-16 code units of the visible text
ELLIPSIS = "…"

_KEEP_CONTROLS = frozenset("\n\t")
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")
_INLINE_SPACES = re.compile(r"[^\S\n]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_MAX_URL = 2048


# ---------------------------------------------------------------- text primitives

def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's message limit."""
    if text.isascii():
        return len(text)
    # Two bytes per unit; a lone surrogate is one unit, as Telegram would count it.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def visible_text(message: str) -> str:
    """The text Telegram shows for our own HTML: tags dropped, entities decoded.

    Only valid for HTML this module wrote (every ``<`` in text is escaped).
    """
    return html.unescape(_TAG.sub("", message))


def _is_dropped(ch: str) -> bool:
    # Cf covers every bidi override/isolate/mark (U+202A-202E, U+2066-2069, U+200E/F, U+061C),
    # zero-width characters (U+200B-200D, U+2060, U+FEFF), soft hyphens and tag characters;
    # Cs are lone surrogates, which cannot even be encoded to send.
    if ch in _KEEP_CONTROLS:
        return False
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs")


# Within Latin-1 the characters _is_dropped() drops are these (controls but newline and tab, and
# the soft hyphen): such text, most of what alerts show, is cleaned in one C call, not per character.
_LATIN1_DROPPED = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\xad]")


def clean(text: str, *, multiline: bool = False) -> str:
    """Drop invisible/control characters and fold whitespace (one line unless ``multiline``)."""
    if not text or max(text) <= "\xff":
        kept = _LATIN1_DROPPED.sub("", text)
    else:
        kept = "".join(ch for ch in text if not _is_dropped(ch))
    if multiline:
        kept = _INLINE_SPACES.sub(" ", kept.replace("\r", ""))
        kept = "\n".join(line.strip() for line in kept.split("\n"))
        return _MANY_NEWLINES.sub("\n\n", kept).strip()
    return _SPACES.sub(" ", kept).strip()


def clip(text: str, units: int) -> str:
    """Cut ``text`` to at most ``units`` UTF-16 units, marking a cut with an ellipsis."""
    if units <= 0:
        return ""
    if utf16_len(text) <= units:
        return text
    out: list[str] = []
    used = 0
    for ch in text:
        width = 2 if ord(ch) > 0xFFFF else 1
        if used + width > units - 1:
            break
        out.append(ch)
        used += width
    kept = "".join(out)
    # Prefer to cut between words when a word boundary is close to the cut.
    space = kept.rfind(" ", max(0, len(kept) - 15))
    if space > 0 and not text[len(kept)].isspace():
        kept = kept[:space]
    return kept.rstrip() + ELLIPSIS


def clip_left(text: str, units: int) -> str:
    """Keep the END of ``text`` within ``units`` UTF-16 units (for the text before a match)."""
    if units <= 0:
        return ""
    if utf16_len(text) <= units:
        return text
    return ELLIPSIS + clip(text[::-1], units)[:-1][::-1].lstrip()


def clean_head(raw: str, units: int, *, multiline: bool = False) -> str:
    """The cleaned start of ``raw``, long enough to fill ``units`` when ``raw`` can.

    Only a slice is cleaned (a 10 MB post must not cost a 10 MB scan per field); the slice grows
    when invisible characters ate it, so padding a title with them cannot blank it out.
    """
    size = units * 4 + 64
    while True:
        cleaned = clean(raw[:size], multiline=multiline)
        if utf16_len(cleaned) > units or size >= len(raw) or size >= 1 << 20:
            return cleaned
        size *= 8


def safe(text: object, units: int, *, multiline: bool = False) -> str:
    """Any outside value as message HTML: invisible characters dropped, clipped to ``units``, escaped."""
    raw = "" if text is None else str(text)
    return html.escape(clip(clean_head(raw, units, multiline=multiline), units), quote=True)


def safe_url(url: str | None) -> str | None:
    """The escaped href for an http(s) or t.me URL, or None when it must not become a link."""
    if not url:
        return None
    url = url.strip()
    if len(url) > _MAX_URL or any(_is_dropped(ch) or ch.isspace() for ch in url):
        return None
    if url.lower().startswith("t.me/"):
        url = "https://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return html.escape(url, quote=True)


def format_when(value: object) -> str:
    """A datetime, ISO string or epoch seconds -> ``2024-11-19 10:22 UTC`` (else the value as text)."""
    when: datetime | None = None
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            when = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            when = None
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if when is None:
        return "" if value is None else str(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


_LINK = re.compile(r'<a\s+href="([^"]*)"\s*>(.*?)</a>', re.DOTALL | re.IGNORECASE)


def to_plain(message: str) -> str:
    """Telegram HTML -> plain text (console output, and the resend when Telegram refuses the markup).

    Links become ``text (url)``. Robust to broken markup: whatever looks like a tag is dropped.
    """
    def link(m: re.Match[str]) -> str:
        url, text = m.group(1), m.group(2)
        return text if html.unescape(_TAG.sub("", text)) == html.unescape(url) else f"{text} ({url})"

    plain = _LINK.sub(link, message)
    plain = re.sub(r"<br\s*/?>", "\n", plain, flags=re.IGNORECASE)
    return html.unescape(_TAG.sub("", plain))


def clip_plain(text: str, units: int = MAX_MESSAGE) -> str:
    """Plain text cut to Telegram's limit (UTF-16 units), for sending without parse mode."""
    return clip(text, units)


# ---------------------------------------------------------------- pieces for bot command answers

def linked_title(title: str | None, url: str | None, units: int = 200, *,
                 mask: bool = True, terms: Sequence[str] = ()) -> str:
    """A scraped title (personal data masked but ``terms``, escaped, clipped) linked to its URL
    when that is a safe http(s)/t.me link."""
    text = safe(mask_text(title or "", terms) if mask else title, units) or "(no title)"
    href = safe_url(url)
    return f'<a href="{href}">{text}</a>' if href else text


def join_lines(blocks: Sequence[str], limit: int = MAX_MESSAGE) -> str:
    """Blocks of our own HTML, one per line, as many as fit in ``limit`` visible units; the rest
    are counted ("… and 12 more"), so a long answer is cut between blocks, never inside a tag."""
    out: list[str] = []
    used = 0
    for index, block in enumerate(blocks):
        cost = utf16_len(visible_text(block)) + 1
        if used + cost > limit - 40:
            out.append(f"… and {len(blocks) - index} more")
            break
        out.append(block)
        used += cost
    return "\n".join(out)
