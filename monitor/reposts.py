"""Repost grouping: which earlier hit a new one reposts. Pure rules over titles and hit records.

A new hit whose item's title is near-identical (:func:`near_identical`) to the title of an earlier
hit of the SAME watch entry, first seen in the last :data:`REPOST_WINDOW_DAYS` days on another
item, joins that hit's group: it is announced as a short "repost" reply to the group's first
alert rather than as a full alert.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

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


def near_identical(a: str, b: str) -> bool:
    """Whether two :func:`title_key` forms name the same post.

    Both at least :data:`REPOST_MIN_TITLE` characters and :data:`REPOST_MIN_WORDS` words, difflib
    ratio at least :data:`REPOST_RATIO`, and the numbers of one are a subset of the other's:
    "dump part 1" and "dump part 2" are two posts, "758k patients" and "758k patients 2024" one.
    """
    if not long_enough(a) or not long_enough(b):
        return False
    if a == b:
        return True
    na, nb = set(_NUMBER.findall(a)), set(_NUMBER.findall(b))
    if not (na <= nb or nb <= na):
        return False
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    # the two quick upper bounds reject most candidates without the quadratic ratio()
    return (matcher.real_quick_ratio() >= REPOST_RATIO and matcher.quick_ratio() >= REPOST_RATIO
            and matcher.ratio() >= REPOST_RATIO)


@dataclass(frozen=True)
class EarlierHit:
    """An earlier hit of the same watch entry, as repost grouping looks at it."""

    id: int
    repost_of: int | None        # the first hit of its group, None when it is a first sighting
    item_pk: int
    title: str | None


def group_of(key: str, candidates: Iterable[EarlierHit],
             key_of: Callable[[str | None], str] | None = None) -> tuple[int, int | None] | None:
    """The group a new hit whose item's title has :func:`title_key` ``key`` joins, or None.

    Among the candidates with a near-identical title, the oldest group wins (the smallest first
    hit id). Returns (first hit of the group, its item pk), the item pk None when the matching
    candidate is itself a repost (the caller looks the first hit's item up). ``key_of`` gives
    a candidate title's :func:`title_key` (a caller that compares many hits against the same
    candidates passes a cached one).
    """
    key_of = key_of or title_key
    if not long_enough(key):
        return None
    best: tuple[int, int | None] | None = None
    for hit in candidates:
        if near_identical(key, key_of(hit.title)):
            first = hit.repost_of if hit.repost_of is not None else hit.id
            if best is None or first < best[0]:
                best = (first, hit.item_pk if hit.repost_of is None else None)
    return best
