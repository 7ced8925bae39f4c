"""The records that flow through leakmon: Item (what a source yields) and Hit (what matching finds)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Item:
    """One post, paste, message or record found by a source.

    ``item_id`` is the site's own id when it has one (MyBB tid, XenForo thread id, Telegram
    ``channel/123``, paste key, API id), otherwise the canonical URL. ``text`` is ``None`` when
    this poll did not learn the item's text (a known thread whose page is never fetched again):
    the store then keeps the text it has. ``date`` is timezone-aware UTC or ``None``.
    ``body_url`` is the page to fetch for the text when the source follows items.
    """

    source: str
    item_id: str
    url: str
    title: str
    text: str | None = None
    author: str | None = None
    date: datetime | None = None
    body_url: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Hit:
    """One watch entry matched by one item.

    ``terms`` are the watch entry's terms (as configured) that were found; ``field`` and
    ``start``/``end`` locate the first match in the ORIGINAL text (or in the title when the text
    does not name the entry; ``field`` is "text" or "title"), so a renderer can show the sentence
    that names the entry with the term in bold. ``lookalike`` is True when that match was read
    through lookalike letters (Cyrillic or Greek letters in a Latin word: "Axiсorp").
    """

    watch: str
    terms: tuple[str, ...]
    field: str
    start: int
    end: int
    lookalike: bool = False


_ELLIPSES = ("…", "...")


def cut_stem(title: str) -> str | None:
    """The visible part of a title cut with an ellipsis ("French Operator(s) (Orang…" ->
    "French Operator(s) (Orang"), or None when the title does not end with one."""
    for mark in _ELLIPSES:
        if title.endswith(mark):
            return title[: -len(mark)].rstrip() or None
    return None


def is_cut_of(title: str, whole: str | None) -> bool:
    """Whether ``title`` is ``whole`` cut with an ellipsis (a listing that shortens long titles):
    the whole title, once learned from the item page, is kept rather than the cut one."""
    stem = cut_stem(title)
    return stem is not None and whole is not None and len(whole) > len(stem) and whole.startswith(stem)
