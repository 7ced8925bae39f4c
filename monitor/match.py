"""The compiled watch list: item text -> hits (SPEC section 5 "Matching").

Plain terms, excludes and requires of every non-strict entry go into ONE Aho-Corasick
automaton (pyahocorasick), those of strict entries into a second one; the text is folded
(:mod:`monitor.normalize`) the same way as the terms. Each key is stored padded with one
space on both sides (" hopital saint joseph ") and the text is scanned in its padded word
form, so the automaton itself only reports whole-word matches: "Mediboard" never fires inside
"Mediboards", and an in-word occurrence cannot hide a later real one because every
occurrence is reported. Regex terms are compiled per entry (they are few) and searched on the
original text, case-insensitively.

Never a loop over terms, never one giant alternation (DESIGN section 4: both collapse at
10,000 terms).
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import ahocorasick

from monitor.config import WatchEntry
from monitor.errors import ConfigError
from monitor.items import Hit
from monitor.normalize import JOIN, NORMALIZATION_VERSION, WordForm, fold, fold_strict

__all__ = ["Matcher", "ScanHit"]

_TERM, _EXCLUDE, _REQUIRE = 0, 1, 2
_FIELDS = ("title", "text")

#: One occurrence found by :meth:`Matcher.scan`: (watch name, configured term, start, end).
ScanHit = tuple[str, str, int, int]


class _Automaton:
    """One Aho-Corasick automaton over padded match forms, with who uses each key."""

    def __init__(self, fold_text: Callable[[str], str]) -> None:
        self.fold_text = fold_text
        self._pending: list[tuple[str, int, int, int]] = []   # phrase, entry, role, index
        # Per key id: the key's length without its padding, and its (entry, role, index) users.
        self.lengths: list[int] = []
        self.longest = 0                                       # longest padded key
        self.uses: list[list[tuple[int, int, int]]] = []
        self.automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)

    def add(self, phrase: str, entry: int, role: int, index: int) -> None:
        """Register one phrase of one entry (term, exclude or require)."""
        self._pending.append((phrase, entry, role, index))

    def finish(self) -> list[tuple[int, int, int]]:
        """Build the automaton; return the phrases with nothing to match (no letter or digit)."""
        pending, self._pending = self._pending, []
        if not pending:
            return []
        # Fold every phrase in one call: fold() keeps offsets, so each phrase is a slice of
        # the result, and 250,000 short calls would cost more than the automaton itself.
        phrases = [phrase for phrase, _e, _r, _i in pending]
        folded = self.fold_text("\n".join(phrases))
        ids: dict[str, int] = {}
        empty = []
        at = 0
        add_word = self.automaton.add_word
        for (phrase, entry, role, index) in pending:
            piece = folded[at:at + len(phrase)]
            at += len(phrase) + 1
            if JOIN in piece:
                piece = piece.replace(JOIN, "")
            form = " ".join(piece.split())
            if not form:
                empty.append((entry, role, index))
                continue
            key_id = ids.get(form)
            if key_id is None:
                key_id = ids[form] = len(self.lengths)
                self.lengths.append(len(form))
                self.uses.append([])
                add_word(f" {form} ", key_id)
            self.uses[key_id].append((entry, role, index))
        if self.lengths:
            self.automaton.make_automaton()
            self.longest = max(self.lengths) + 2
        return empty

    @property
    def active(self) -> bool:
        """Whether the automaton holds any key (an empty one is never run)."""
        return bool(self.lengths)

    def find(self, text: str) -> tuple[WordForm, Iterator[tuple[int, int, int]]]:
        """The word form of ``text`` and its matches as (key id, start, end) in word-form offsets."""
        words = WordForm(self.fold_text(text))
        return words, self._matches(words.text)

    def _matches(self, text: str) -> Iterator[tuple[int, int, int]]:
        lengths = self.lengths
        iterate = self.automaton.iter
        # pyahocorasick copies its input to 4 bytes a character: feed a long text in slices.
        # A key spans exactly its own length in the word form, so slices that overlap by the
        # longest key find every match once (kept by the slice where it starts).
        overlap = self.longest + 1
        step = max(_AC_SLICE, overlap)
        for base in range(0, len(text), step):
            piece = text[base:base + step + overlap] if base or len(text) > step + overlap else text
            limit = base + step
            for end, key_id in iterate(piece):
                # ``end`` is on the trailing pad space; the words end just before it.
                end += base
                start = end - lengths[key_id]
                if start - 1 < limit:
                    yield key_id, start, end
            if len(piece) < step + overlap:
                break


#: Characters of word form handed to the automaton at once (4 MB of its UCS-4 copy).
_AC_SLICE = 1 << 20


@dataclass
class _Found:
    """What one item told about one entry while matching."""

    terms: set[int] = field(default_factory=set)          # indexes into terms, then regex
    excluded: bool = False
    requires: set[int] = field(default_factory=set)
    # Earliest automaton match per field rank, in word-form offsets (one word form per field:
    # an entry lives in one automaton), and earliest regex match per rank in original offsets.
    words: dict[int, tuple[int, int, WordForm]] = field(default_factory=dict)
    regex: dict[int, tuple[int, int]] = field(default_factory=dict)

    def offer_words(self, rank: int, start: int, end: int, words: WordForm) -> None:
        best = self.words.get(rank)
        if best is None or start < best[0]:
            self.words[rank] = (start, end, words)

    def offer_regex(self, rank: int, start: int, end: int) -> None:
        best = self.regex.get(rank)
        if best is None or start < best[0]:
            self.regex[rank] = (start, end)


class Matcher:
    """A compiled watch list. Build once per config; ``match`` and ``scan`` are pure functions of
    their input and change nothing in the Matcher after it is built.

    Example::

        m = Matcher([WatchEntry(name="CHU de Rennes", terms=("CHU de Rennes", "chu-rennes.fr"))])
        m.match("Dump CHU-RENNES[.]FR", None)
        # [Hit(watch='CHU de Rennes', terms=('chu-rennes.fr',), field='title', start=5, end=20)]
    """

    def __init__(self, watches: Sequence[WatchEntry]) -> None:
        # Building allocates several small objects per term; at 100,000 entries the cyclic
        # garbage collector would walk them again and again (~20 % of the build time, measured)
        # though none of them can form a cycle.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._build(watches)
        finally:
            if was_enabled:
                gc.enable()

    def _build(self, watches: Sequence[WatchEntry]) -> None:
        self.watches: tuple[WatchEntry, ...] = tuple(watches)
        plain = _Automaton(fold)
        strict = _Automaton(fold_strict)
        self._regex: list[tuple[int, int, re.Pattern[str]]] = []   # (entry, term index, pattern)
        for e, watch in enumerate(self.watches):
            target = strict if watch.strict else plain
            for role, phrases in ((_TERM, watch.terms), (_EXCLUDE, watch.exclude), (_REQUIRE, watch.requires)):
                for i, phrase in enumerate(phrases):
                    target.add(phrase, e, role, i)
            for i, pattern in enumerate(watch.regex):
                try:
                    compiled = re.compile(pattern, re.IGNORECASE)
                except re.error as exc:
                    raise ConfigError("watch list", f"{watch.name}: regex[{i}]",
                                      f"{pattern!r} is not a valid regular expression: {exc}") from exc
                self._regex.append((e, len(watch.terms) + i, compiled))
        # Per entry: how many requires must be seen. A phrase with no letter or digit can never
        # be seen (config.py refuses them; a Matcher built by hand may have them): it is dropped.
        self._requires_needed = [len(w.requires) for w in self.watches]
        for automaton in (plain, strict):
            for e, role, _index in automaton.finish():
                if role == _REQUIRE:
                    self._requires_needed[e] -= 1
        # Excludes and requires of regex-only entries are in the automata too.
        self._automata = [a for a in (plain, strict) if a.active]

    def __len__(self) -> int:
        return len(self.watches)

    def fingerprint(self) -> str:
        """A stable hash of what decides matching (entry names, terms, regex, filters, strictness).

        Severity, kind and chats are left out: changing them does not change what matches.
        """
        parts = [NORMALIZATION_VERSION] + [
            [w.name, list(w.terms), list(w.regex), list(w.exclude), list(w.requires), w.strict]
            for w in self.watches
        ]
        blob = json.dumps(parts, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()

    # ------------------------------------------------------------ one item

    def match(self, title: str, text: str | None) -> list[Hit]:
        """The hits of one item: one :class:`Hit` per watch entry that fires, in watch-list order.

        ``Hit.terms`` are the entry's configured terms (then regex patterns) found in the title
        or text; ``field``/``start``/``end`` locate the first match in the original title when
        the title matches, else in the text.
        """
        found: dict[int, _Found] = {}
        for rank, value in enumerate((title, text)):
            if not value:
                continue
            for automaton in self._automata:
                words, matches = automaton.find(value)
                uses = automaton.uses
                for key_id, start, end in matches:
                    for e, role, index in uses[key_id]:
                        state = found.get(e)
                        if state is None:
                            state = found[e] = _Found()
                        if role == _TERM:
                            state.terms.add(index)
                            state.offer_words(rank, start, end, words)
                        elif role == _EXCLUDE:
                            state.excluded = True
                        else:
                            state.requires.add(index)
        self._match_regex((title, text or ""), found)
        return self._hits(found)

    def _match_regex(self, values: tuple[str, str], found: dict[int, _Found]) -> None:
        for e, index, pattern in self._regex:
            for rank, value in enumerate(values):
                m = _first_nonempty(pattern, value)
                if m is not None:
                    state = found.get(e)
                    if state is None:
                        state = found[e] = _Found()
                    state.terms.add(index)
                    state.offer_regex(rank, m.start(), m.end())

    def _fires(self, e: int, state: _Found) -> bool:
        return bool(state.terms) and not state.excluded and len(state.requires) >= self._requires_needed[e]

    def _hits(self, found: dict[int, _Found]) -> list[Hit]:
        firing = [e for e in sorted(found) if self._fires(e, found[e])]
        # Map every needed word-form position of each field in one forward pass.
        wanted: dict[int, tuple[WordForm, list[int]]] = {}
        for e in firing:
            for start, end, words in found[e].words.values():
                wanted.setdefault(id(words), (words, []))[1].extend((start, end - 1))
        maps = {key: words.to_original(positions) for key, (words, positions) in wanted.items()}
        hits = []
        for e in firing:
            state = found[e]
            rank = min((*state.words, *state.regex))
            candidates = []
            if rank in state.words:
                start, end, words = state.words[rank]
                mapping = maps[id(words)]
                candidates.append((mapping[start], mapping[end - 1] + 1))
            if rank in state.regex:
                candidates.append(state.regex[rank])
            start, end = min(candidates)
            watch = self.watches[e]
            configured = watch.terms + watch.regex
            hits.append(Hit(watch=watch.name, terms=tuple(configured[i] for i in sorted(state.terms)),
                            field=_FIELDS[rank], start=start, end=end))
        return hits

    # ------------------------------------------------------------ a long text

    def scan(self, text: str) -> Iterator[ScanHit]:
        """Every occurrence of every watched term in ``text``, as (watch, term, start, end).

        The whole text counts as one item for ``exclude`` and ``requires``: an entry excluded
        anywhere in it, or missing one of its requires, yields nothing. Occurrences come in
        order of position (then watch-list order), with offsets into ``text``. The text is
        folded and scanned in one streaming pass: a term may span any amount of space or
        punctuation, so cutting the text in chunks could split it.
        """
        found: dict[int, _Found] = {}
        occurrences: list[tuple[WordForm | None, int, int, int, int]] = []  # words, start, end, e, index
        for automaton in self._automata:
            words, matches = automaton.find(text)
            uses = automaton.uses
            for key_id, start, end in matches:
                for e, role, index in uses[key_id]:
                    state = found.get(e)
                    if state is None:
                        state = found[e] = _Found()
                    if role == _TERM:
                        state.terms.add(index)
                        occurrences.append((words, start, end, e, index))
                    elif role == _EXCLUDE:
                        state.excluded = True
                    else:
                        state.requires.add(index)
        for e, index, pattern in self._regex:
            for m in pattern.finditer(text):
                if m.end() > m.start():
                    found.setdefault(e, _Found()).terms.add(index)
                    occurrences.append((None, m.start(), m.end(), e, index))
        keep = {e for e, state in found.items() if self._fires(e, state)}
        occurrences = [occ for occ in occurrences if occ[3] in keep]
        positions: dict[int, tuple[WordForm, list[int]]] = {}
        for words, start, end, _e, _i in occurrences:
            if words is not None:
                positions.setdefault(id(words), (words, []))[1].extend((start, end - 1))
        maps = {key: words.to_original(wanted) for key, (words, wanted) in positions.items()}
        located: list[tuple[int, int, int, int]] = []
        for words, start, end, e, index in occurrences:
            if words is not None:
                mapping = maps[id(words)]
                start, end = mapping[start], mapping[end - 1] + 1
            located.append((start, e, end, index))
        located.sort()
        for start, e, end, index in located:
            watch = self.watches[e]
            yield watch.name, (watch.terms + watch.regex)[index], start, end


def _first_nonempty(pattern: re.Pattern[str], value: str) -> re.Match[str] | None:
    """The first match that covers at least one character (an empty match locates nothing)."""
    for m in pattern.finditer(value):
        if m.end() > m.start():
            return m
    return None
