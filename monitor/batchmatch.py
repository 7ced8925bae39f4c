"""Matching many items at once: one fold and one automaton pass over all of their text.

``match_many(matcher, pairs)`` returns what ``[matcher.match(title, text) for ...]`` returns,
but folds and scans the titles and texts joined into one text, so the fixed cost of a pass
(folding set-up, one scan per hyperscan database, Python calls) is paid once per batch rather
than once per field: the retro-hunt over stored posts and a poll's new items go through it.

The fields are joined by a separator WORD that no key contains (a Latin-1 letter such as "þ",
chosen per watch list): keys match whole words only, so no match can run across it, and the
fold of each field in the joined text is the fold of the field alone (the separator's spaces
keep defanged "[dot]" checks inside each field). Matches are then given back to their field,
with offsets in that field. When no separator can be used (every candidate letter is in some
key, or in the text), the items are matched one by one.
"""

from __future__ import annotations

import bisect
import weakref
from collections.abc import Sequence
from typing import Any

from monitor.match import _EXCLUDE, _TERM, Matcher, _Found
from monitor.normalize import fold, fold_strict
from monitor.records import Hit
from monitor.repair import lookalikes

__all__ = ["match_many"]

_CANDIDATES = ("þ", "ð", "ø", "æ")
_separators: weakref.WeakKeyDictionary[Matcher, str | None] = weakref.WeakKeyDictionary()


def _separator(matcher: Matcher) -> str | None:
    """A letter that no term, exclude or require of the matcher folds to or holds (cached per matcher)."""
    if matcher in _separators:
        return _separators[matcher]
    phrases = [p for w in matcher.watches for p in (*w.terms, *w.exclude, *w.requires)]
    present: set[str] = set()
    for at in range(0, len(phrases), 10_000):    # in slices: 100,000 names must not double the peak memory
        piece = "\n".join(phrases[at:at + 10_000])
        for seen in (piece, fold(piece), fold_strict(piece)):
            present.update(c for c in _CANDIDATES if c in seen or c.upper() in seen)
    chosen = next((c for c in _CANDIDATES if c not in present), None)
    _separators[matcher] = chosen
    return chosen


class _Field:
    """One field's view of the batch word form: positions map to offsets in the field itself."""

    __slots__ = ("offset", "words")

    def __init__(self, words: Any, offset: int) -> None:
        self.words = words
        self.offset = offset

    def to_original(self, positions: Sequence[int]) -> dict[int, int]:
        offset = self.offset
        return {p: at - offset for p, at in self.words.to_original(positions).items()}


def match_many(matcher: Matcher, pairs: Sequence[tuple[str, str | None]]) -> list[list[Hit]]:
    """``[matcher.match(title, text) for title, text in pairs]``, computed in one pass."""
    separator = _separator(matcher)
    if separator is None or len(pairs) < 2:
        return [matcher.match(title, text) for title, text in pairs]
    segments: list[str] = []
    owners: list[tuple[int, int]] = []        # (item, field rank) of each segment
    for i, pair in enumerate(pairs):
        for rank, value in enumerate(pair):
            if value:
                segments.append(value)
                owners.append((i, rank))
    joiner = f" {separator} "
    raw = joiner.join(segments)
    starts = []
    at = 0
    for segment in segments:
        starts.append(at)
        at += len(segment) + len(joiner)
    # Lookalike letters are read word by word: the whole batch at once reads each field as alone
    # (same length, so the offsets hold).
    batch = lookalikes(raw)
    if batch is raw:
        reads: list[tuple[str, str | None]] = list(pairs)
    else:
        reads = []
        ends = iter(zip(starts, segments))

        def cut(value: str | None) -> str | None:
            if not value:
                return value
            at, segment = next(ends)
            return batch[at:at + len(segment)]

        for title, text in pairs:
            read_title = cut(title)     # the title first: segments were joined in that order
            reads.append((read_title or "", cut(text)))
    found: list[dict[int, _Found]] = [{} for _ in pairs]
    for automaton in matcher._automata:
        words, matches = automaton.find(batch)
        text = words.text
        # Where each separator word lies in the word form: a match belongs to the segment between two.
        marks: list[int] = []
        # Found by the letter alone (a one-character search runs at memory speed; " þ " was
        # searched at ~300 MB/s), then checked to stand alone between spaces.
        at = text.find(separator)
        while at >= 0:
            if text[at - 1] == " " and text[at + 1:at + 2] == " ":
                marks.append(at - 1)
            at = text.find(separator, at + 1)
        if len(marks) != len(segments) - 1:
            # The separator letter is in the text itself: one by one, as the reference does.
            return [matcher.match(title, text) for title, text in pairs]
        views: dict[int, _Field] = {}
        users = automaton.users
        for key_id, start, end in matches:
            k = bisect.bisect_right(marks, start)
            item, rank = owners[k]
            view = views.get(k)
            if view is None:
                view = views[k] = _Field(words, starts[k])
            states = found[item]
            for e, role, index in users(key_id):
                state = states.get(e)
                if state is None:
                    state = states[e] = _Found()
                if role == _TERM:
                    state.terms.add(index)
                    state.offer_words(rank, start, end, view)  # type: ignore[arg-type]
                elif role == _EXCLUDE:
                    state.excluded = True
                else:
                    state.requires.add(index)
    out = []
    for (title, text), read, states in zip(pairs, reads, found):
        if matcher._regex:
            matcher._match_regex((read[0], read[1] or ""), states)
        out.append(matcher._hits(states, (title, text), read) if states else [])
    return out
