"""Matching a text that arrives in pieces (a file of any size) with the results of one pass over all of it.

:class:`StreamScanner` keeps a window of text: what is left of the previous piece plus the new
one. Each window is matched as a whole (:class:`monitor.match.Matcher` folds and scans it) but
only the occurrences that START in the part of the window it owns are reported; the rest of the
window is overlap, read again with the next piece. The cut between two windows is chosen so that
what the automaton sees near it is exactly what it would see in the whole text:

- a window starts just after a separator character (a space, a newline, most ASCII punctuation;
  never a bracket, which could open a defanged "[dot]"), so its first word is a real word start;
- the automaton reads a window only up to its last separator, so its last word is complete;
- the owned part ends at least :data:`RESERVE` characters, and at least the longest key in
  letters and digits, before that end: an occurrence that starts in the owned part ends in the
  window (a name can span any amount of punctuation; when a stretch of many megabytes holds no
  letter, see ``cap``, the cut is forced and a name split by it is missed: it would need more
  than ``cap`` characters of punctuation between two of its words);
- the next window starts at least :data:`CONTEXT` characters before the owned part's end, so
  the context printed around an occurrence and the lookbehind of a regex are those of the text.

``exclude`` and ``requires`` keep their whole-text meaning: they are collected over all windows
and the occurrences of entries that have them are decided at the end (:meth:`finish`).
Regex terms are searched per window from where the previous match ended, like ``finditer`` over
the whole text; a regex match longer than :data:`RESERVE` characters may be cut short.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from monitor.match import _EXCLUDE, _REQUIRE, _TERM, Matcher
from monitor.matchengine import USE_ENTRY_SHIFT as _ENTRY_SHIFT
from monitor.matchengine import USE_INDEX_MASK as _INDEX_MASK
from monitor.normalize import fold
from monitor.repair import lookalikes

__all__ = ["CONTEXT", "RESERVE", "Occurrence", "StreamScanner", "conditional_entries"]

#: Characters kept after the owned part of a window (overlap with the next one).
RESERVE = 1 << 16
#: Characters kept before the owned part (context printed around a hit, regex lookbehind).
CONTEXT = 256

# Characters a window may start after or stop before: they fold to a space in every folding and
# cannot be part of a defanged dot ("[dot]", "(dot)", "{dot}").
_CUT = re.compile(r"[\t\n\r !-'*-/:-@\\^-`|~]")
_FAST_CUTS = ("\n", " ", "\t")


@dataclass(slots=True)
class Occurrence:
    """One occurrence of a watched term: where (line, offsets) and what around it."""

    entry: int
    term: int
    start: int          # character offset in the whole text
    end: int
    line: int           # 1-based
    match: str
    context: str


@dataclass
class _State:
    terms: bool = False
    excluded: bool = False
    requires: set[int] = field(default_factory=set)


def conditional_entries(matcher: Matcher) -> frozenset[int]:
    """The entries decided by the whole text (``exclude`` or ``requires``); 100,000 entries take
    ~20 ms to look through, so a scan of several parts computes this once."""
    return frozenset(e for e, w in enumerate(matcher.watches) if w.exclude or matcher._requires_needed[e] > 0)


def _last_cut(buf: str, lo: int, hi: int) -> int:
    """Index of the last separator in ``buf[lo:hi]``, or -1."""
    if hi <= lo:
        # An empty range; a negative ``hi`` (a buffer shorter than the context) must not count
        # from the end as str.rfind would: the window would end before its hits' context.
        return -1
    best = -1
    for ch in _FAST_CUTS:
        at = buf.rfind(ch, max(lo, best + 1), hi)
        best = max(best, at)
    if best >= 0:
        return best
    for m in _CUT.finditer(buf, lo, hi):
        best = m.start()
    return best


def _latin1(text: str) -> bool:
    """Whether the text is all Latin-1 (hence has no Cyrillic or Greek lookalike letter); fast."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _word_chars(text: str) -> int:
    folded = fold(text)
    return len(folded) - folded.count(" ") - folded.count("\0")


class StreamScanner:
    """Feed text in pieces (:meth:`feed`), then :meth:`finish`; occurrences come out in text order.

    ``cap``: when this many characters arrive without a place to cut, the window is cut anyway
    (memory stays bounded on a file of one endless word or endless punctuation).
    """

    def __init__(self, matcher: Matcher, *, reserve: int = RESERVE, context: int = CONTEXT,
                 cap: int = 1 << 24, conditional: frozenset[int] | None = None) -> None:
        self.matcher = matcher
        self.reserve = max(reserve, 1)
        self.context = max(context, 81)
        self.cap = max(cap, self.reserve * 2)
        automata = matcher._automata
        self.longest = max((max(a.lengths, default=0) for a in automata), default=0) + 2
        self._buf = ""
        self._base = 0            # offset of _buf[0] in the whole text
        self._owned = 0           # offsets before this were reported by an earlier window
        self._lines = 0           # newlines before _base
        self._left_open = False   # _buf starts inside a word (a forced cut)
        self._stop = -1           # offset from which nothing is owned (-1: none; see stop_owning)
        self._regex_next = [0] * len(matcher._regex)
        self._states: dict[int, _State] = {}
        self.conditional = conditional_entries(matcher) if conditional is None else conditional

    # ------------------------------------------------------------ input

    def feed(self, text: str) -> Iterator[Occurrence]:
        """Add text; yields the occurrences that are settled (see :meth:`fires` for conditional entries)."""
        if not text:
            return
        self._buf += text
        while True:
            plan = self._plan()
            if plan is None:
                return
            own_end, read_end, right_open = plan
            yield from self._window(own_end, read_end, right_open, final=False)
            self._advance(own_end, forced=right_open)

    def lead(self, text: str, lines: int) -> None:
        """Start with text read but not owned: the end of what an earlier part of the file owns.

        ``text`` starts just after a separator and ends just after one; it gives the first owned
        occurrences their context and regex lookbehind. ``lines``: newlines before ``text``.
        """
        self._buf += text
        self._owned = self._base + len(self._buf)
        self._lines = lines

    def stop_owning(self) -> None:
        """Own nothing of the text fed from now on: it is read only to complete the occurrences that
        start before it (and their context), since a later part of the file owns it."""
        self._stop = self._base + len(self._buf)

    def finish(self) -> Iterator[Occurrence]:
        """The occurrences of the rest of the text."""
        n = len(self._buf)
        yield from self._window(n, n, False, final=True)
        self._advance(n, forced=False)

    def fires(self, entry: int) -> bool:
        """Whether an entry fires over the whole text (after :meth:`finish`)."""
        state = self._states.get(entry)
        return (state is not None and state.terms and not state.excluded
                and len(state.requires) >= self.matcher._requires_needed[entry])

    def conditional_states(self) -> dict[int, tuple[bool, bool, frozenset[int]]]:
        """What this scanner saw of the entries with ``exclude`` or ``requires`` (for :meth:`merge_states`)."""
        return {e: (s.terms, s.excluded, frozenset(s.requires)) for e, s in self._states.items()
                if e in self.conditional}

    def merge_states(self, states: dict[int, tuple[bool, bool, frozenset[int]]]) -> None:
        """Add what a scanner of another part of the text saw: :meth:`fires` then speaks for both."""
        for entry, (terms, excluded, requires) in states.items():
            state = self._states.setdefault(entry, _State())
            state.terms |= terms
            state.excluded |= excluded
            state.requires |= requires

    # ------------------------------------------------------------ windows

    def _plan(self) -> tuple[int, int, bool] | None:
        """(end of the owned part, end of what the automaton reads, forced) in _buf, or None: wait."""
        buf = self._buf
        owned = self._owned - self._base
        # The automaton reads up to a separator at least CONTEXT characters before the end: the
        # context printed after an occurrence is in the window too.
        read_end = _last_cut(buf, owned, len(buf) - self.context)
        if read_end > owned:
            distance = self.reserve
            while read_end - distance > owned:
                cut = _last_cut(buf, owned, read_end - distance)
                if cut < 0:
                    break
                own_end = cut + 1
                if _word_chars(buf[own_end:read_end]) >= self.longest:
                    return own_end, read_end, False
                distance *= 2     # little but punctuation there: look further back
        if len(buf) - owned < self.cap:
            return None
        # Forced: megabytes without a separator, or without letters after one.
        return len(buf), len(buf), True

    def _advance(self, own_end: int, forced: bool) -> None:
        """Drop what the next window needs no more; the next window starts after a separator."""
        buf = self._buf
        if forced:
            start = own_end
            self._left_open = own_end > 0 and _CUT.match(buf, own_end - 1) is None
        else:
            lo = max(0, own_end - self.context - self.cap)
            cut = _last_cut(buf, lo, own_end - self.context) if own_end > self.context else -1
            if cut >= 0:
                start = cut + 1
            else:   # keep it all (the window start is a word start), unless that is too much
                start = 0 if own_end < self.cap else own_end
            self._left_open = False
        self._lines += buf.count("\n", 0, start)
        self._base += start
        self._owned = self._base + own_end - start
        self._buf = buf[start:]

    def _window(self, own_end: int, read_end: int, right_open: bool, final: bool) -> Iterator[Occurrence]:
        buf = self._buf
        owned = self._owned - self._base
        if self._stop >= 0:
            own_end = min(own_end, self._stop - self._base)
        states = self._states
        found: list[tuple[int, int, int, int]] = []      # start, entry, end, term index
        # Lookalike letters of mixed-script words read as Latin, as Matcher.scan does (same
        # length: offsets hold; the window starts and ends on separators, so words are whole).
        read = buf if _latin1(buf) else lookalikes(buf)
        text = read[:read_end]
        left_open = self._left_open
        for automaton in self.matcher._automata:
            words, matches = automaton.find(text)
            raw = list(matches)
            if not raw:
                continue
            mapping = words.to_original([p for _k, s, e in raw for p in (s, e - 1)])
            # Automaton.users() inlined: this loop runs once per occurrence of a key.
            first, more = automaton.first, automaton.more
            for key_id, ws, we in raw:
                start, end = mapping[ws], mapping[we - 1] + 1
                if (left_open and start == 0) or (right_open and end == read_end):
                    continue        # a piece of a word cut by a forced cut
                head = first[key_id]
                for code in (head, *more[key_id]) if key_id in more else (head,):
                    e, role, index = code >> _ENTRY_SHIFT, code & 3, (code >> 2) & _INDEX_MASK
                    state = states.get(e)
                    if state is None:
                        state = states[e] = _State()
                    if role == _TERM:
                        if owned <= start < own_end:
                            state.terms = True
                            found.append((start, e, end, index))
                    elif role == _EXCLUDE:
                        state.excluded = True
                    elif role == _REQUIRE:
                        state.requires.add(index)
        regex_next = self._regex_next
        for r, (e, index, pattern) in enumerate(self.matcher._regex):
            pos = max(regex_next[r] - self._base, owned)
            for m in pattern.finditer(read, pos):
                if m.start() >= own_end:
                    break
                regex_next[r] = self._base + m.end()
                if m.end() > m.start():
                    states.setdefault(e, _State()).terms = True
                    found.append((m.start(), e, m.end(), index))
        if not found:
            return
        found.sort()
        lines = self._lines
        counted = 0
        base = self._base
        count, rfind, find = buf.count, buf.rfind, buf.find
        span = (-1, -1)
        match = context = ""
        for start, e, end, index in found:
            if (start, end) != span:
                # One alias shared by many entries (a group's domain, "ehpad-saint-vincent-de-paul")
                # gives one hit per entry at the same place: their line, match and context are one.
                span = (start, end)
                lines += count("\n", counted, start)
                counted = start
                # The context is the hit's line, cut 80 characters before and after the hit: look
                # for the line's ends only that far (a dump without newlines has megabyte lines).
                lo, hi = max(0, start - 80), end + 80
                line_end = find("\n", start, hi)
                match = buf[start:end]
                context = buf[max(rfind("\n", lo, start) + 1, lo): hi if line_end < 0 else line_end].strip()
            yield Occurrence(e, index, base + start, base + end, lines + 1, match, context)
