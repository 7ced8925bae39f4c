"""Repost grouping: which earlier hit a new one reposts. Pure rules over titles and hit records.

A new hit whose item's title is near-identical (:func:`near_identical`) to the title of an earlier
hit of the SAME watch entry, first seen in the last :data:`REPOST_WINDOW_DAYS` days on another
item, joins that hit's group: it is announced as a short "repost" reply to the group's first
alert rather than as a full alert.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

from monitor.normalize import match_form

REPOST_WINDOW_DAYS = 14              # a near-identical title within this many days is a repost
REPOST_RATIO = 0.9                   # difflib ratio of the folded titles, at least
REPOST_MIN_TITLE = 16                # folded titles shorter than this, or of fewer than
REPOST_MIN_WORDS = 3                 # this many words, never group ("Mediboard leak" is too generic)
REPOST_CANDIDATES = 1000             # newest hits of the entry compared, at most
_NUMBER = re.compile(r"\d+")


def title_key(title: str | None) -> str:
    """A title as repost grouping compares it: folded (case, accents, punctuation), digits kept."""
    return match_form(title or "")


def long_enough(key: str) -> bool:
    """Whether a :func:`title_key` is specific enough to group at all."""
    return len(key) >= REPOST_MIN_TITLE and key.count(" ") + 1 >= REPOST_MIN_WORDS


class TitleForm:
    """A :func:`title_key` with what the comparison reads of it, computed once: whether it is long
    enough, its numbers and its characters' counts (difflib's quick ratio)."""

    __slots__ = ("_chars", "key", "long", "numbers")

    def __init__(self, key: str) -> None:
        self.key = key
        self.long = long_enough(key)
        self.numbers = frozenset(_NUMBER.findall(key)) if self.long else frozenset()
        self._chars: dict[str, int] | None = None

    @property
    def chars(self) -> dict[str, int]:
        """How many times each character occurs (counted when first asked)."""
        if self._chars is None:
            self._chars = dict(Counter(self.key))
        return self._chars


def _near(a: TitleForm, b: TitleForm, seqs: dict[str, difflib.SequenceMatcher[str]] | None = None) -> bool:
    """:func:`near_identical` of two forms; ``seqs``: SequenceMatchers by their second sequence
    (a candidate's key, prepared once and reused over many new titles)."""
    if not a.long or not b.long:
        return False
    if a.key == b.key:
        return True
    if not (a.numbers <= b.numbers or b.numbers <= a.numbers):
        return False
    # difflib's three ratios, cheapest first: the two upper bounds reject most candidates without
    # the quadratic ratio(); they are computed here as difflib does (2.0 * matches / total length),
    # the second from the cached character counts.
    length = len(a.key) + len(b.key)
    if 2.0 * min(len(a.key), len(b.key)) / length < REPOST_RATIO:
        return False
    other = b.chars
    if 2.0 * sum(min(n, other.get(c, 0)) for c, n in a.chars.items()) / length < REPOST_RATIO:
        return False
    seq = seqs.get(b.key) if seqs is not None else None
    if seq is None:
        seq = difflib.SequenceMatcher(None, "", b.key, autojunk=False)
        if seqs is not None:
            seqs[b.key] = seq
    seq.set_seq1(a.key)
    return seq.ratio() >= REPOST_RATIO


def near_identical(a: str, b: str) -> bool:
    """Whether two :func:`title_key` forms name the same post.

    Both at least :data:`REPOST_MIN_TITLE` characters and :data:`REPOST_MIN_WORDS` words, difflib
    ratio at least :data:`REPOST_RATIO`, and the numbers of one are a subset of the other's:
    "dump part 1" and "dump part 2" are two posts, "758k patients" and "758k patients 2024" one.
    """
    return _near(TitleForm(a), TitleForm(b))


class TitleForms:
    """The forms of the titles one batch of new hits is compared with, each computed once (and
    the candidate side of difflib's matcher prepared once per candidate title). One per batch."""

    def __init__(self) -> None:
        self._forms: dict[str | None, TitleForm] = {}
        self._keys: dict[str, TitleForm] = {}
        self._seqs: dict[str, difflib.SequenceMatcher[str]] = {}
        # Answers by (new key, earlier key): the hits of many entries on one post (entries that
        # share an alias) meet the same earlier titles again and again.
        self._near: dict[tuple[str, str], bool] = {}

    def of_key(self, key: str) -> TitleForm:
        """The form of a :func:`title_key`."""
        form = self._keys.get(key)
        if form is None:
            form = self._keys[key] = TitleForm(key)
        return form

    def of(self, title: str | None) -> TitleForm:
        """The form of a title as stored (None and "" alike)."""
        form = self._forms.get(title)
        if form is None:
            form = self._forms[title] = TitleForm(title_key(title))
        return form

    def near(self, new: TitleForm, earlier: TitleForm) -> bool:
        """:func:`near_identical` of a new title's form and an earlier one's."""
        pair = (new.key, earlier.key)
        known = self._near.get(pair)
        if known is None:
            known = self._near[pair] = _near(new, earlier, self._seqs)
        return known

    def bound(self, limit: int = 50_000) -> None:
        """Start afresh when more than ``limit`` titles, matchers or answers are kept (one object
        serves a whole retro-hunt: its memory must not grow with the hunt)."""
        if max(len(self._forms), len(self._keys), len(self._seqs), len(self._near)) > limit:
            self._forms, self._keys, self._seqs, self._near = {}, {}, {}, {}


class EarlierHit(NamedTuple):
    """An earlier hit of the same watch entry, as repost grouping looks at it (a named tuple: a
    batch reads thousands)."""

    id: int
    repost_of: int | None        # the first hit of its group, None when it is a first sighting
    item_pk: int
    title: str | None


def group_of(key: str, candidates: Iterable[EarlierHit],
             forms: TitleForms | None = None) -> tuple[int, int | None] | None:
    """The group a new hit whose item's title has :func:`title_key` ``key`` joins, or None.

    Among the candidates with a near-identical title, the oldest group wins (the smallest first
    hit id). Returns (first hit of the group, its item pk), the item pk None when the matching
    candidate is itself a repost (the caller looks the first hit's item up). ``forms``: the
    titles' forms, kept by a caller that compares many hits with the same candidates.
    """
    if not long_enough(key):
        return None
    forms = forms or TitleForms()
    new: TitleForm | None = None
    best: tuple[int, int | None] | None = None
    for hit in candidates:
        if new is None:
            new = forms.of_key(key)
        if forms.near(new, forms.of(hit.title)):
            first = hit.repost_of if hit.repost_of is not None else hit.id
            if best is None or first < best[0]:
                best = (first, hit.item_pk if hit.repost_of is None else None)
    return best
