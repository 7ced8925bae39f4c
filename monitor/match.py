"""The compiled watch list: item text -> hits.

Plain terms, excludes and requires of every non-strict entry go into ONE multi-pattern
automaton, those of strict entries into a second one; the text is folded
(:mod:`monitor.normalize`) the same way as the terms. Each key is stored padded with one
space on both sides (" hopital saint joseph ") and the text is scanned in its padded word
form, so the automaton itself only reports whole-word matches: "Mediboard" never fires inside
"Mediboards", and an in-word occurrence cannot hide a later real one because every
occurrence is reported. Regex terms are compiled per entry (they are few) on RE2
(:mod:`monitor.userregex`: linear time, whatever the text) and searched on the original text,
case-insensitively.

Two engines behind one interface, with the same results (the tests run on both):

- pyahocorasick (always there): builds at ~5 us a key, but a national watch list of 100,000
  names (225,000 keys) makes a 2.7-million-node trie: ~1 s of build and ~120 MB at every start.
- hyperscan (``pip install hyperscan``, x86_64 only), chosen for lists of
  :data:`HYPERSCAN_MIN_KEYS` keys or more: the same keys compile to ~16 MB and scan faster,
  but compiling is slow (superlinear: 20 s for 225,000 keys in one database). So the keys are
  spread by a hash over buckets of up to 65,536 keys (:data:`BUCKET_KEYS`), each compiled on
  its own, two at a time (hyperscan releases the GIL), and cached on disk under a hash of its keys
  (:func:`default_cache_dir`): a later start loads the databases in milliseconds, and an edit
  of the watch list recompiles only the buckets it touches.

Never a loop over terms, never one giant alternation: both collapse at 10,000 terms.

The engines and the automaton of one folding are in :mod:`monitor.matchengine`; this module
builds the two automata and the regexes from the watch list and turns what they find into hits.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor import matchengine
from monitor.cachedir import default_cache_dir
from monitor.config import WatchEntry
from monitor.errors import ConfigError
from monitor.matchengine import (
    HYPERSCAN_MIN_KEYS,
    Automaton,
    HyperscanEngine,
    hyperscan_available,
    hyperscan_module,
    pack_use,
)
from monitor.normalize import NORMALIZATION_VERSION, WordForm
from monitor.repair import lookalikes
from monitor.userregex import UserRegexError, compile_user_regex, first_nonempty

if TYPE_CHECKING:
    from monitor.records import Hit

__all__ = ["HYPERSCAN_MIN_KEYS", "Matcher", "ScanHit", "default_cache_dir", "hyperscan_available"]

log = logging.getLogger("leakmon.match")

_TERM, _EXCLUDE, _REQUIRE = 0, 1, 2
_FIELDS = ("title", "text")

#: One occurrence found by :meth:`Matcher.scan`: (watch name, configured term, start, end).
ScanHit = tuple[str, str, int, int]
#: Lists of this many phrases or more are also cached whole, as one file (monitor.listcache).
LIST_CACHE_MIN_PHRASES = 50_000
_BACKENDS = ("auto", "ahocorasick", "hyperscan")


def _many_phrases(watches: Sequence[WatchEntry]) -> bool:
    """Whether the automata get LIST_CACHE_MIN_PHRASES phrases (terms, excludes, requires) or more;
    counted in C, the terms first (they are enough for a big list)."""
    count = 0
    for name in ("terms", "exclude", "requires"):
        count += sum(map(len, map(attrgetter(name), watches)))
        if count >= LIST_CACHE_MIN_PHRASES:
            return True
    return False


class _DefaultCache:
    """Marker: the cache directory of :func:`default_cache_dir`."""


DEFAULT_CACHE = _DefaultCache()


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

    def __init__(self, watches: Sequence[WatchEntry], *, backend: str = "auto",
                 cache_dir: str | os.PathLike[str] | _DefaultCache | None = DEFAULT_CACHE,
                 watches_digest: str | None = None) -> None:
        """Compile ``watches``.

        ``backend``: "auto" (hyperscan for big lists when it is installed, else pyahocorasick),
        "ahocorasick" or "hyperscan" (falls back to pyahocorasick when not installed).
        ``cache_dir``: where compiled hyperscan databases of big lists are cached (default
        :func:`default_cache_dir`; None: no cache).
        ``watches_digest``: :meth:`monitor.configtypes.Config.watches_digest` when ``watches`` is
        that config's list: it keys the cached list instead of a hash of every entry.
        """
        if backend not in _BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(_BACKENDS)}, not {backend!r}")
        cache = default_cache_dir() if isinstance(cache_dir, _DefaultCache) else (
            Path(cache_dir) if cache_dir is not None else None)
        # Building allocates several small objects per term; at 100,000 entries the cyclic
        # garbage collector would walk them again and again (~20 % of the build time, measured)
        # though none of them can form a cycle.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._build(watches, backend, cache, watches_digest)
        finally:
            if was_enabled:
                gc.enable()

    def _build(self, watches: Sequence[WatchEntry], backend: str, cache_dir: Path | None,
               watches_digest: str | None) -> None:
        self.watches: tuple[WatchEntry, ...] = tuple(watches)
        plain = Automaton(strict=False)
        strict = Automaton(strict=True)
        self._regex: list[tuple[int, int, Any]] = []   # (entry, term index, RE2 pattern)
        for e, watch in enumerate(self.watches):
            if not watch.regex:
                continue
            for i, pattern in enumerate(watch.regex):
                try:
                    compiled = compile_user_regex(pattern)
                except UserRegexError as exc:
                    raise ConfigError("watch list", f"{watch.name}: regex[{i}]",
                                      f"{pattern!r} is not a valid regular expression: {exc}") from None
                self._regex.append((e, len(watch.terms) + i, compiled))
        # A big list compiled before loads from one cached file (monitor.listcache), without
        # gathering its phrases first.
        key = None
        if (cache_dir is not None and backend != "ahocorasick" and hyperscan_module() is not None
                and _many_phrases(self.watches)):
            from monitor import listcache

            key = listcache.list_key(self.watches, NORMALIZATION_VERSION, hyperscan_module().__version__, backend,
                                     str(matchengine.BUCKET_KEYS), str(matchengine.HYPERSCAN_MIN_KEYS),
                                     digest=watches_digest)
            state = listcache.load(cache_dir, key)
            if state is not None and self._restore(state, plain, strict):
                self._automata = [a for a in (plain, strict) if a.active]
                return
        for e, watch in enumerate(self.watches):
            target = strict if watch.strict else plain
            # Automaton.add for all phrases of the entry at once: this loop runs 100,000 times
            # for a national watch list. Packed codes of consecutive indexes step by 4.
            base = pack_use(e, _TERM, 0)
            target.phrases.extend(watch.terms)
            target.codes.extend(range(base, base + 4 * len(watch.terms), 4))
            if watch.exclude or watch.requires:
                for role, values in ((_EXCLUDE, watch.exclude), (_REQUIRE, watch.requires)):
                    target.phrases.extend(values)
                    target.codes.extend(range(base | role, (base | role) + 4 * len(values), 4))
        # Per entry: how many requires must be seen. A phrase with no letter or digit can never
        # be seen (config.py refuses them; a Matcher built by hand may have them): it is dropped.
        self._requires_needed = [len(w.requires) for w in self.watches]
        for automaton in (plain, strict):
            for e, role, _index in automaton.finish(backend, cache_dir):
                if role == _REQUIRE:
                    self._requires_needed[e] -= 1
        if key is not None and all(isinstance(a.engine, HyperscanEngine) for a in (plain, strict) if a.active):
            from monitor import listcache

            listcache.save(cache_dir, key, self._dump(plain, strict))  # type: ignore[arg-type]
        # Excludes and requires of regex-only entries are in the automata too.
        self._automata = [a for a in (plain, strict) if a.active]

    def _dump(self, *automata: Automaton) -> dict[str, Any]:
        """What :func:`monitor.listcache.save` keeps of the built automata."""
        hs = hyperscan_module()
        return {"requires_needed": self._requires_needed, "automata": [
            {"strict": a.strict, "first": a.first.tobytes(), "lengths": a.lengths.tobytes(), "more": a.more,
             "buckets": [(ids.tobytes(), hs.dumpb(db)) for db, ids in a.engine.databases]}  # type: ignore[union-attr]
            for a in automata if a.active]}

    def _restore(self, state: dict[str, Any], plain: Automaton, strict: Automaton) -> bool:
        """Set the automata from a cached state; False when it does not fit (then build)."""
        try:
            for saved in state["automata"]:
                automaton = strict if saved["strict"] else plain
                automaton.first, automaton.lengths = array("q"), array("I")
                automaton.first.frombytes(saved["first"])
                automaton.lengths.frombytes(saved["lengths"])
                automaton.more = saved["more"]
                automaton.engine = HyperscanEngine.restore(saved["buckets"])
            self._requires_needed = list(state["requires_needed"])
        except Exception as exc:  # noqa: BLE001 - a file of another build: compile as if there were none
            log.info("compiled watch list cache unusable (%s): building again", exc)
            for automaton in (plain, strict):
                automaton.first, automaton.lengths, automaton.more, automaton.engine = (
                    array("q"), array("I"), {}, None)
            return False
        for automaton in (plain, strict):
            automaton.phrases, automaton.codes = [], array("q")
        return True

    @property
    def engines(self) -> list[str]:
        """The engine of each non-empty automaton ("ahocorasick" or "hyperscan"), for reports."""
        return [a.engine.name for a in self._automata if a.engine is not None]

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
        # Lookalike letters of mixed-script words read as Latin (same length: offsets hold).
        read = (lookalikes(title) if title else title, lookalikes(text) if text else text)
        for rank, value in enumerate(read):
            if not value:
                continue
            for automaton in self._automata:
                words, matches = automaton.find(value)
                users = automaton.users
                for key_id, start, end in matches:
                    for e, role, index in users(key_id):
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
        self._match_regex((read[0], read[1] or ""), found)
        return self._hits(found, (title, text), read)

    def _match_regex(self, values: tuple[str, str], found: dict[int, _Found]) -> None:
        for e, index, pattern in self._regex:
            for rank, value in enumerate(values):
                m = first_nonempty(pattern, value)
                if m is not None:
                    state = found.get(e)
                    if state is None:
                        state = found[e] = _Found()
                    state.terms.add(index)
                    state.offer_regex(rank, m.start(), m.end())

    def _fires(self, e: int, state: _Found) -> bool:
        return bool(state.terms) and not state.excluded and len(state.requires) >= self._requires_needed[e]

    def _hits(self, found: dict[int, _Found], values: tuple[str, str | None],
              read: tuple[str, str | None]) -> list[Hit]:
        """One Hit per firing entry; ``values`` are the title and text, ``read`` the same after
        :func:`~monitor.repair.lookalikes` (a match whose characters differ between the two went
        through lookalike letters)."""
        # Imported here: monitor.records pulls in triage and phonenumbers, which `leakmon scan`
        # never needs (~0.1 s of its start-up).
        from monitor.records import Hit

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
            # The text's match is preferred: the alert shows the title anyway, and the snippet should
            # be the sentence of the post that names the entry.
            rank = max((*state.words, *state.regex))
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
            original, seen = values[rank] or "", read[rank] or ""
            lookalike = seen is not original and seen[start:end] != original[start:end]
            hits.append(Hit(watch=watch.name, terms=tuple(configured[i] for i in sorted(state.terms)),
                            field=_FIELDS[rank], start=start, end=end, lookalike=lookalike))
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
        text = lookalikes(text)   # mixed-script words read as Latin; same length, same offsets
        found: dict[int, _Found] = {}
        occurrences: list[tuple[WordForm | None, int, int, int, int]] = []  # words, start, end, e, index
        for automaton in self._automata:
            words, matches = automaton.find(text)
            users = automaton.users
            for key_id, start, end in matches:
                for e, role, index in users(key_id):
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
        for form, start, end, _e, _i in occurrences:
            if form is not None:
                positions.setdefault(id(form), (form, []))[1].extend((start, end - 1))
        maps = {key: words.to_original(wanted) for key, (words, wanted) in positions.items()}
        located: list[tuple[int, int, int, int]] = []
        for form, start, end, e, index in occurrences:
            if form is not None:
                mapping = maps[id(form)]
                start, end = mapping[start], mapping[end - 1] + 1
            located.append((start, e, end, index))
        located.sort()
        for start, e, end, index in located:
            watch = self.watches[e]
            yield watch.name, (watch.terms + watch.regex)[index], start, end
