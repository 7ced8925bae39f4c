"""The word form of a folded text: JOINs deleted, space runs collapsed, padded with a space.

``" hopital saint joseph "``: a term in that form, padded the same way, can only match whole
words. :class:`WordForm` builds it from :func:`monitor.normalize.fold`'s output and maps positions
back to the folded (hence the original) text. The compiled ``monitor._textfold`` builds it in one
C pass when it is there (:mod:`monitor.textfold`); the Python code here is the reference and the
fallback, and gives the same strings and anchors.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable

from monitor import textfold

__all__ = ["JOIN", "WordForm", "collapse"]

#: What an invisible in-word character folds to; :class:`WordForm` deletes it.
JOIN = "\0"

# The compiled functions are used when loaded; tests switch this off to run the Python code.
_native = textfold.LOADED


def collapse(folded: str) -> str:
    """JOINs deleted, space runs made single (NOT stripped)."""
    if _native:
        return textfold.collapse(folded)
    return _collapse_py(folded)


_RUN = re.compile(" {2,}")


def _collapse_py(folded: str) -> str:
    """:func:`collapse` in Python."""
    if JOIN in folded:
        folded = folded.replace(JOIN, "")
    if "  " not in folded:
        return folded
    # str.replace runs at ~200 MB/s where re.sub(" {2,}", " ") crawls at ~50 MB/s on forum
    # text (a run after every comma). One pass halves every run; when a few runs are left
    # (three spaces or more: "[.]", ", -") they are cut out one by one, when many are (JSON
    # and SQL dumps: '", "' on every field) another halving pass in C is cheaper.
    for _ in range(64):
        folded = folded.replace("  ", " ")
        at = folded.find("  ")
        if at < 0:
            return folded
        if folded.count("  ", at) > _FEW_RUNS_LEFT:
            continue
        pieces: list[str] = []
        done = 0
        while at >= 0:
            end = _RUN.match(folded, at).end()  # type: ignore[union-attr]  # "  " is there
            pieces.append(folded[done:at + 1])
            done = end
            at = folded.find("  ", end)
        pieces.append(folded[done:])
        return "".join(pieces)
    return _RUN.sub(" ", folded)


#: Runs of spaces left after a halving pass that are cut one by one rather than halved again.
_FEW_RUNS_LEFT = 16


class WordForm:
    """A folded text with JOINs deleted and space runs collapsed, padded: ``" w1 w2 ... wn "``.

    ``text`` is what the automaton scans. :meth:`to_original` maps positions of word
    characters in ``text`` back to positions in the folded (hence the original) text.
    The text is collapsed in blocks of about 4 KB cut at word starts; each block start is an
    anchor whose position is known in both texts, so mapping a match re-reads at most the
    block it lies in, not everything before it.
    """

    __slots__ = ("_anchors_f", "_anchors_w", "folded", "text")

    BLOCK = 4096

    def __init__(self, folded: str) -> None:
        self.folded = folded
        if _native:
            self.text, anchors_w, anchors_f = textfold.word_form(folded, self.BLOCK)
        else:
            self.text, anchors_w, anchors_f = _word_form_py(folded, self.BLOCK)
        self._anchors_w = anchors_w or [1]
        self._anchors_f = anchors_f or [len(folded)]

    def to_original(self, positions: Iterable[int]) -> dict[int, int]:
        """Map positions of word characters in ``text`` to positions in the folded text.

        One forward pass over the sorted positions, starting each from the nearest anchor or
        the previous position. A position that is not on a word character maps to the next
        word character.
        """
        wanted = sorted(set(positions))
        out: dict[int, int] = {}
        s = self.folded
        n = len(s)
        anchors_w, anchors_f = self._anchors_w, self._anchors_f
        # Cursor: word-form position ``cur_w`` is folded position ``cur_f``, both on a word
        # character; it only moves forward.
        cur_w, cur_f = anchors_w[0], anchors_f[0]
        for p in wanted:
            k = bisect.bisect_right(anchors_w, p) - 1
            if k >= 0 and anchors_w[k] > cur_w:
                cur_w, cur_f = anchors_w[k], anchors_f[k]
            target = p - cur_w
            i = cur_f
            while target > 0:
                i = _skip_gap(s, min(cur_f + target, n))
                if i >= n:
                    break
                step = len(collapse(s[cur_f:i]))
                if step >= target:
                    break  # ``i`` is the word character at ``p`` (only a gap lay in between)
                # Folded runs made the guess fall short: ``i`` is a word character at
                # ``cur_w + step``; go on from there.
                cur_w, cur_f = cur_w + step, i
                target -= step
            out[p] = i
            if i < n and target > 0:
                cur_w, cur_f = p, i
        return out

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``(start, end)`` of the match ``text[start:end]`` (whole words)."""
        m = self.to_original((start, end - 1))
        return m[start], m[end - 1] + 1


def _skip_gap(s: str, i: int) -> int:
    """The first word character at or after ``i`` (or ``len(s)``)."""
    m = _GAP.match(s, i)
    return m.end() if m else i


_GAP = re.compile("[ \0]+")


def _word_form_py(folded: str, block: int) -> tuple[str, list[int], list[int]]:
    """(text, anchors in the text, anchors in ``folded``) of :class:`WordForm`, in Python."""
    n = len(folded)
    pieces = [" "]
    anchors_w: list[int] = []
    anchors_f: list[int] = []
    length = 1
    start = _skip_gap(folded, 0)
    while start < n:
        cut = folded.find(" ", start + block)
        # The block ends after a gap that holds a space: it collapses to text + " ", and
        # the next block starts on a word character.
        end = n if cut < 0 else _skip_gap(folded, cut)
        piece = _collapse_py(folded[start:end])
        anchors_w.append(length)
        anchors_f.append(start)
        pieces.append(piece)
        length += len(piece)
        start = end
    if not pieces[-1].endswith(" "):
        pieces.append(" ")
    return "".join(pieces), anchors_w, anchors_f
