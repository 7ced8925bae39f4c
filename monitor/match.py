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
  spread by a hash over buckets of up to 65,536 keys (:data:`_BUCKET_KEYS`), each compiled on
  its own, two at a time (hyperscan releases the GIL), and cached on disk under a hash of its keys
  (:func:`default_cache_dir`): a later start loads the databases in milliseconds, and an edit
  of the watch list recompiles only the buckets it touches.

Never a loop over terms, never one giant alternation: both collapse at 10,000 terms.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import threading
import time
import zlib
from array import array
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import compress
from operator import ne
from pathlib import Path
from typing import Any

import ahocorasick

from monitor.cachedir import default_cache_dir
from monitor.config import WatchEntry
from monitor.errors import ConfigError
from monitor.records import Hit
from monitor.normalize import NORMALIZATION_VERSION, WordForm, fold, fold_strict, match_forms
from monitor.repair import lookalikes
from monitor.userregex import UserRegexError, compile_user_regex, first_nonempty

__all__ = ["Matcher", "ScanHit", "default_cache_dir", "hyperscan_available", "HYPERSCAN_MIN_KEYS"]

log = logging.getLogger("leakmon.match")

_TERM, _EXCLUDE, _REQUIRE = 0, 1, 2
_FIELDS = ("title", "text")

#: One occurrence found by :meth:`Matcher.scan`: (watch name, configured term, start, end).
ScanHit = tuple[str, str, int, int]

#: "auto" picks hyperscan (when installed) for an automaton of at least this many keys; below
#: it pyahocorasick builds in a blink and in little memory.
HYPERSCAN_MIN_KEYS = 50_000
#: Compiled hyperscan databases are cached on disk only for lists this big (small ones compile
#: in milliseconds: no file is worth writing for them).
CACHE_MIN_KEYS = 50_000
#: Lists of this many phrases or more are also cached whole, as one file (monitor.listcache).
LIST_CACHE_MIN_PHRASES = 50_000
#: Keys per hyperscan bucket (a power of two of buckets is used, so most edits keep the count).
#: Every bucket reads the whole text: 4 buckets of 56,000 keys scan 40 MB in half the time of
#: 16 buckets of 14,000 (measured), for a longer first compile (cached afterwards).
_BUCKET_KEYS = 1 << 16
#: Cached databases unused for this long are deleted when a new one is written.
_CACHE_MAX_AGE = 30 * 86400
_CACHE_SUFFIX = ".hsdb"

_BACKENDS = ("auto", "ahocorasick", "hyperscan")

# A use of a key by an entry, packed in one int so 250,000 of them cost 2 MB, not 30 MB of tuples.
_INDEX_BITS = 30


def _pack(entry: int, role: int, index: int) -> int:
    return (entry << (_INDEX_BITS + 2)) | (index << 2) | role


def _unpack(code: int) -> tuple[int, int, int]:
    return code >> (_INDEX_BITS + 2), code & 3, (code >> 2) & ((1 << _INDEX_BITS) - 1)


def hyperscan_available() -> bool:
    """Whether the optional hyperscan engine can be imported here."""
    return _hyperscan() is not None


_hs_module: Any = None


def _hyperscan() -> Any:
    """The hyperscan module, or None (not installed, or no wheel for this CPU)."""
    global _hs_module
    if _hs_module is None:
        try:
            import hyperscan
        except Exception:  # ImportError, or a wheel that cannot load on this CPU
            _hs_module = False
        else:
            _hs_module = hyperscan
    return _hs_module or None


class _DefaultCache:
    """Marker: the cache directory of :func:`default_cache_dir`."""


DEFAULT_CACHE = _DefaultCache()


# ---------------------------------------------------------------- engines
#
# An engine is built from the keys' match forms ("hopital saint joseph"), pads each with a
# space on both sides (" hopital saint joseph ") and reports, for a padded
# word-form text, every (key id, position of the key's trailing pad space, limit) in any order;
# a match that starts after ``limit`` (when >= 0) belongs to another slice and is dropped.


class _AhoCorasickEngine:
    name = "ahocorasick"

    def __init__(self, forms: Sequence[str]) -> None:
        self.automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        add_word = self.automaton.add_word
        for key_id, form in enumerate(forms):
            add_word(f" {form} ", key_id)
        self.automaton.make_automaton()
        self.longest = max(map(len, forms)) + 2

    def ends(self, text: str) -> Iterator[tuple[int, int]]:
        iterate = self.automaton.iter
        # pyahocorasick copies its input to 4 bytes a character: feed a long text in slices.
        # Slices that overlap by the longest key find every match; the one that ends in the
        # overlap is kept by the slice where it starts (``start <= limit``).
        overlap = self.longest + 1
        step = max(_AC_SLICE, overlap)
        n = len(text)
        for base in range(0, n, step):
            piece = text[base:base + step + overlap] if base or n > step + overlap else text
            limit = base + step
            for end, key_id in iterate(piece):
                yield key_id, end + base, limit
            if len(piece) < step + overlap:
                break


#: Characters of word form handed to pyahocorasick at once (4 MB of its UCS-4 copy).
_AC_SLICE = 1 << 20


class _HyperscanEngine:
    name = "hyperscan"

    def __init__(self, forms: Sequence[str], cache_dir: Path | None) -> None:
        hs = _hyperscan()
        encoded = [f" {form} ".encode("utf-8") for form in forms]
        buckets_n = 1
        while len(encoded) > buckets_n * _BUCKET_KEYS:
            buckets_n *= 2
        # Key ids per bucket, in watch-list order: an edit of the list (a row added, removed or
        # changed) changes the content, hence the cache file, of the buckets it touches only.
        if buckets_n == 1:
            buckets = [array("q", range(len(encoded)))]
        else:
            buckets = [array("q") for _ in range(buckets_n)]
            appenders = [bucket.append for bucket in buckets]
            mask, crc32 = buckets_n - 1, zlib.crc32
            for key_id, key in enumerate(encoded):
                appenders[crc32(key) & mask](key_id)
        prefix = b"leakmon-hs\0" + hs.__version__.encode() + b"\0"
        plans = []
        for ids in buckets:
            if ids:
                patterns = list(map(encoded.__getitem__, ids))
                plans.append((ids, patterns, hashlib.sha256(prefix + b"\n".join(patterns)).hexdigest()))
        del encoded
        self.mode = hs.HS_MODE_BLOCK
        self.compiled = self.loaded = 0
        databases: list[Any] = [None] * len(plans)
        missing = []
        for i, (_ids, _patterns, digest) in enumerate(plans):
            databases[i] = self._load(cache_dir, digest) if cache_dir else None
            if databases[i] is None:
                missing.append(i)
            else:
                self.loaded += 1
        if missing:
            with ThreadPoolExecutor(max_workers=min(2, len(missing)), thread_name_prefix="leakmon-hs") as pool:
                for i, db in zip(missing, pool.map(lambda i: self._compile(plans[i][1]), missing)):
                    databases[i] = db
                    self.compiled += 1
                    if cache_dir:
                        self._save(cache_dir, plans[i][2], db)
        self.databases = [(db, ids) for db, (ids, _p, _d) in zip(databases, plans)]
        self._local = threading.local()

    @classmethod
    def restore(cls, buckets: list[tuple[bytes, bytes]]) -> "_HyperscanEngine":
        """An engine from cached (key ids, serialized database) buckets."""
        hs = _hyperscan()
        engine = cls.__new__(cls)
        engine.mode = hs.HS_MODE_BLOCK
        engine.databases = []
        for ids_blob, db_blob in buckets:
            ids = array("q")
            ids.frombytes(ids_blob)
            engine.databases.append((hs.loadb(db_blob, engine.mode), ids))
        engine.compiled, engine.loaded = 0, len(buckets)
        engine._local = threading.local()
        return engine

    def _compile(self, patterns: list[bytes]) -> Any:
        hs = _hyperscan()
        db = hs.Database(mode=self.mode)
        db.compile(expressions=patterns, ids=list(range(len(patterns))), elements=len(patterns),
                   flags=0, literal=True)
        return db

    def _load(self, cache_dir: Path, digest: str) -> Any:
        path = cache_dir / (digest + _CACHE_SUFFIX)
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        try:
            db = _hyperscan().loadb(blob, self.mode)
        except Exception as exc:  # a file from another hyperscan build or CPU, or a torn one
            log.info("compiled watch list cache %s unusable (%s): compiling again", path.name, exc)
            return None
        try:
            os.utime(path)        # recently used: kept by the pruning in _save
        except OSError:
            pass
        return db

    def _save(self, cache_dir: Path, digest: str, db: Any) -> None:
        """Write atomically (a crash leaves no torn file under the final name); never fatal."""
        path = cache_dir / (digest + _CACHE_SUFFIX)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(_hyperscan().dumpb(db))
            os.replace(tmp, path)
            cutoff = time.time() - _CACHE_MAX_AGE
            for old in cache_dir.glob("*" + _CACHE_SUFFIX):
                if old.stat().st_mtime < cutoff:
                    old.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("cannot cache the compiled watch list in %s: %s", cache_dir, exc.strerror or exc)
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass

    def _scratches(self) -> list[Any]:
        # A hyperscan scratch serves one scan at a time: one set per thread (polls match in
        # the event loop's executor threads).
        scratches = getattr(self._local, "scratches", None)
        if scratches is None:
            hs = _hyperscan()
            scratches = self._local.scratches = [hs.Scratch(db) for db, _ids in self.databases]
        return scratches

    def ends(self, text: str) -> Iterator[tuple[int, int, int]]:
        data = text.encode("utf-8")
        found: list[tuple[int, int]] = []
        append = found.append
        for (db, ids), scratch in zip(self.databases, self._scratches()):
            def on_match(local: int, _from: int, to: int, _flags: int, _ctx: object, ids: array = ids) -> None:
                append((ids[local], to))
            db.scan(data, match_event_handler=on_match, scratch=scratch)
        if len(data) == len(text):          # ASCII: byte offsets are character offsets
            for key_id, to in found:
                yield key_id, to - 1, -1
            return
        # Byte offsets -> character offsets, in one forward pass over the sorted ends (every
        # end is on a character boundary: keys end with a space).
        chars: dict[int, int] = {}
        at_byte = at_char = 0
        for to in sorted({to for _k, to in found}):
            at_char += len(data[at_byte:to].decode("utf-8"))
            at_byte = to
            chars[to] = at_char
        for key_id, to in found:
            yield key_id, chars[to] - 1, -1


class _Automaton:
    """The keys of one folding (plain or strict), their users, and the engine that finds them."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.fold_text: Callable[[str], str] = fold_strict if strict else fold
        self.phrases: list[str] = []
        self.codes = array("q")                    # packed (entry, role, index), one per phrase
        self.lengths = array("I")                  # per key: its length without the padding
        self.first = array("q")                    # per key: its first user (packed)
        self.more: dict[int, list[int]] = {}       # key -> its further users (few keys have any)
        self.engine: _AhoCorasickEngine | _HyperscanEngine | None = None

    def add(self, phrase: str, entry: int, role: int, index: int) -> None:
        """Register one phrase of one entry (term, exclude or require)."""
        self.phrases.append(phrase)
        self.codes.append(_pack(entry, role, index))

    def finish(self, backend: str, cache_dir: Path | None) -> list[tuple[int, int, int]]:
        """Build the engine; return the phrases with nothing to match (no letter or digit)."""
        phrases, codes = self.phrases, self.codes
        self.phrases, self.codes = [], array("q")
        if not phrases:
            return []
        forms = match_forms(phrases, self.strict)
        del phrases
        # Dict and array built from iterators run in C; only duplicated phrases (a name that is
        # also another entry's alias, an exclude that is a term) take the Python loop below.
        users = dict(zip(forms, codes))          # form -> its last user
        empty = []
        if "" in users:
            empty = [_unpack(code) for form, code in zip(forms, codes) if not form]
            del users[""]
        if len(users) + len(empty) < len(forms):
            key_ids = dict(zip(users, range(len(users))))
            # Positions whose code is not the form's last user, found by C iterators.
            shadowed = compress(range(len(forms)), map(ne, map(users.get, forms), codes))
            more = self.more
            for at in shadowed:
                if forms[at]:
                    more.setdefault(key_ids[forms[at]], []).append(codes[at])
        self.first = array("q", users.values())
        self.lengths = array("I", map(len, users))
        # Free what is no longer needed before the engine allocates: the peak RSS of a start
        # with 100,000 names must stay bounded (bench/ measures it).
        keys = list(users)
        del forms, codes, users
        if keys:
            self.engine = self._engine(keys, backend, cache_dir)
        return empty

    @staticmethod
    def _engine(keys: list[str], backend: str, cache_dir: Path | None) -> _AhoCorasickEngine | _HyperscanEngine:
        """The engine for these key forms (unpadded)."""
        use_hs = backend == "hyperscan" or (backend == "auto" and len(keys) >= HYPERSCAN_MIN_KEYS)
        if use_hs and _hyperscan() is not None:
            try:
                return _HyperscanEngine(keys, cache_dir if len(keys) >= CACHE_MIN_KEYS else None)
            except Exception as exc:  # any failure of the optional engine: the fallback still matches
                log.warning("hyperscan could not compile the watch list (%s): using pyahocorasick", exc)
        return _AhoCorasickEngine(keys)

    @property
    def active(self) -> bool:
        """Whether the automaton holds any key (an empty one is never run)."""
        return self.engine is not None

    def users(self, key_id: int) -> list[tuple[int, int, int]]:
        """The (entry, role, index) that use a key."""
        out = [_unpack(self.first[key_id])]
        extra = self.more.get(key_id)
        if extra:
            out.extend(_unpack(code) for code in extra)
        return out

    def find(self, text: str) -> tuple[WordForm, Iterator[tuple[int, int, int]]]:
        """The word form of ``text`` and its matches as (key id, start, end) in word-form offsets."""
        words = WordForm(self.fold_text(text))
        return words, self._matches(words.text)

    def _matches(self, text: str) -> Iterator[tuple[int, int, int]]:
        assert self.engine is not None
        lengths = self.lengths
        for key_id, end, limit in self.engine.ends(text):
            # ``end`` is on the trailing pad space; the words end just before it.
            start = end - lengths[key_id]
            if limit < 0 or start - 1 < limit:
                yield key_id, start, end


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
                 cache_dir: str | os.PathLike[str] | None | _DefaultCache = DEFAULT_CACHE) -> None:
        """Compile ``watches``.

        ``backend``: "auto" (hyperscan for big lists when it is installed, else pyahocorasick),
        "ahocorasick" or "hyperscan" (falls back to pyahocorasick when not installed).
        ``cache_dir``: where compiled hyperscan databases of big lists are cached (default
        :func:`default_cache_dir`; None: no cache).
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
            self._build(watches, backend, cache)
        finally:
            if was_enabled:
                gc.enable()

    def _build(self, watches: Sequence[WatchEntry], backend: str, cache_dir: Path | None) -> None:
        self.watches: tuple[WatchEntry, ...] = tuple(watches)
        plain = _Automaton(strict=False)
        strict = _Automaton(strict=True)
        self._regex: list[tuple[int, int, Any]] = []   # (entry, term index, RE2 pattern)
        for e, watch in enumerate(self.watches):
            target = strict if watch.strict else plain
            # _Automaton.add for all phrases of the entry at once: this loop runs 100,000 times
            # for a national watch list. Packed codes of consecutive indexes step by 4.
            base = _pack(e, _TERM, 0)
            target.phrases.extend(watch.terms)
            target.codes.extend(range(base, base + 4 * len(watch.terms), 4))
            if watch.exclude or watch.requires:
                for role, values in ((_EXCLUDE, watch.exclude), (_REQUIRE, watch.requires)):
                    target.phrases.extend(values)
                    target.codes.extend(range(base | role, (base | role) + 4 * len(values), 4))
            for i, pattern in enumerate(watch.regex):
                try:
                    compiled = compile_user_regex(pattern)
                except UserRegexError as exc:
                    raise ConfigError("watch list", f"{watch.name}: regex[{i}]",
                                      f"{pattern!r} is not a valid regular expression: {exc}") from None
                self._regex.append((e, len(watch.terms) + i, compiled))
        # A big list compiled before loads from one cached file (monitor.listcache).
        key = None
        if (cache_dir is not None and backend != "ahocorasick" and _hyperscan() is not None
                and len(plain.phrases) + len(strict.phrases) >= LIST_CACHE_MIN_PHRASES):
            from monitor import listcache

            key = listcache.list_key(self.watches, NORMALIZATION_VERSION, _hyperscan().__version__, backend,
                                     str(_BUCKET_KEYS), str(HYPERSCAN_MIN_KEYS))
            state = listcache.load(cache_dir, key)
            if state is not None and self._restore(state, plain, strict):
                self._automata = [a for a in (plain, strict) if a.active]
                return
        # Per entry: how many requires must be seen. A phrase with no letter or digit can never
        # be seen (config.py refuses them; a Matcher built by hand may have them): it is dropped.
        self._requires_needed = [len(w.requires) for w in self.watches]
        for automaton in (plain, strict):
            for e, role, _index in automaton.finish(backend, cache_dir):
                if role == _REQUIRE:
                    self._requires_needed[e] -= 1
        if key is not None and all(isinstance(a.engine, _HyperscanEngine) for a in (plain, strict) if a.active):
            from monitor import listcache

            listcache.save(cache_dir, key, self._dump(plain, strict))  # type: ignore[arg-type]
        # Excludes and requires of regex-only entries are in the automata too.
        self._automata = [a for a in (plain, strict) if a.active]

    def _dump(self, *automata: _Automaton) -> dict[str, Any]:
        """What :func:`monitor.listcache.save` keeps of the built automata."""
        hs = _hyperscan()
        return {"requires_needed": self._requires_needed, "automata": [
            {"strict": a.strict, "first": a.first.tobytes(), "lengths": a.lengths.tobytes(), "more": a.more,
             "buckets": [(ids.tobytes(), hs.dumpb(db)) for db, ids in a.engine.databases]}  # type: ignore[union-attr]
            for a in automata if a.active]}

    def _restore(self, state: dict[str, Any], plain: _Automaton, strict: _Automaton) -> bool:
        """Set the automata from a cached state; False when it does not fit (then build)."""
        try:
            for saved in state["automata"]:
                automaton = strict if saved["strict"] else plain
                automaton.first, automaton.lengths = array("q"), array("I")
                automaton.first.frombytes(saved["first"])
                automaton.lengths.frombytes(saved["lengths"])
                automaton.more = saved["more"]
                automaton.engine = _HyperscanEngine.restore(saved["buckets"])
            self._requires_needed = list(state["requires_needed"])
        except Exception as exc:   # a file of another build: compile as if there were none
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
