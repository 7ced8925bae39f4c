"""The multi-pattern engines of the watch list and the automaton of one folding.

An :class:`Automaton` holds the keys of one folding (plain or strict), which entries use each
key and how (term, exclude or require), and the engine that finds them: pyahocorasick, or
hyperscan for big lists (compiled in hashed buckets, two at a time, cached on disk).
:class:`monitor.match.Matcher` builds two of them and turns what they find into hits.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import zlib
from array import array
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import compress
from operator import ne
from pathlib import Path
from typing import Any

import ahocorasick

from monitor.cachedir import write_atomically
from monitor.normalize import WordForm, fold, fold_strict, match_forms

log = logging.getLogger("leakmon.match")

#: "auto" picks hyperscan (when installed) for an automaton of at least this many keys; below
#: it pyahocorasick builds in a blink and in little memory.
HYPERSCAN_MIN_KEYS = 50_000
#: Compiled hyperscan databases are cached on disk only for lists this big (small ones compile
#: in milliseconds: no file is worth writing for them).
CACHE_MIN_KEYS = 50_000
#: Keys per hyperscan bucket (a power of two of buckets is used, so most edits keep the count).
#: Every bucket reads the whole text: 4 buckets of 56,000 keys scan 40 MB in half the time of
#: 16 buckets of 14,000 (measured), for a longer first compile (cached afterwards).
BUCKET_KEYS = 1 << 16
#: Cached databases unused for this long are deleted when a new one is written.
_CACHE_SUFFIX = ".hsdb"

# A use of a key by an entry, packed in one int so 250,000 of them cost 2 MB, not 30 MB of tuples.
_INDEX_BITS = 30
#: ``unpack_use`` spelled out, for loops that run once per occurrence: (code >> USE_ENTRY_SHIFT,
#: code & 3, (code >> 2) & USE_INDEX_MASK) is (entry, role, index).
USE_ENTRY_SHIFT = _INDEX_BITS + 2
USE_INDEX_MASK = (1 << _INDEX_BITS) - 1


def pack_use(entry: int, role: int, index: int) -> int:
    return (entry << (_INDEX_BITS + 2)) | (index << 2) | role


def unpack_use(code: int) -> tuple[int, int, int]:
    return code >> (_INDEX_BITS + 2), code & 3, (code >> 2) & ((1 << _INDEX_BITS) - 1)


def hyperscan_available() -> bool:
    """Whether the optional hyperscan engine can be imported here."""
    return hyperscan_module() is not None


_hs_module: Any = None


def hyperscan_module() -> Any:
    """The hyperscan module, or None (not installed, or no wheel for this CPU)."""
    global _hs_module
    if _hs_module is None:
        try:
            import hyperscan
        except Exception:  # noqa: BLE001 - ImportError, or a wheel that cannot load on this CPU
            _hs_module = False
        else:
            _hs_module = hyperscan
    return _hs_module or None


# ---------------------------------------------------------------- engines
#
# An engine is built from the keys' match forms ("hopital saint joseph"), pads each with a
# space on both sides (" hopital saint joseph ") and reports, for a padded
# word-form text, every (key id, position of the key's trailing pad space, limit) in any order;
# a match that starts after ``limit`` (when >= 0) belongs to another slice and is dropped.


class AhoCorasickEngine:
    name = "ahocorasick"

    def __init__(self, forms: Sequence[str]) -> None:
        self.automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        add_word = self.automaton.add_word
        for key_id, form in enumerate(forms):
            add_word(f" {form} ", key_id)
        self.automaton.make_automaton()
        self.longest = max(map(len, forms)) + 2

    def ends(self, text: str) -> Iterator[tuple[int, int, int]]:
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


class HyperscanEngine:
    name = "hyperscan"

    def __init__(self, forms: Sequence[str], cache_dir: Path | None) -> None:
        hs = hyperscan_module()
        encoded = [f" {form} ".encode() for form in forms]
        buckets_n = 1
        while len(encoded) > buckets_n * BUCKET_KEYS:
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
    def restore(cls, buckets: list[tuple[bytes, bytes]]) -> HyperscanEngine:
        """An engine from cached (key ids, serialized database) buckets; ``buckets`` is emptied
        as they load, so that each serialized database is freed once loaded (~4 MB each)."""
        hs = hyperscan_module()
        engine = cls.__new__(cls)
        engine.mode = hs.HS_MODE_BLOCK
        engine.databases = []
        count = len(buckets)
        buckets.reverse()
        while buckets:
            ids_blob, db_blob = buckets.pop()
            ids = array("q")
            ids.frombytes(ids_blob)
            engine.databases.append((hs.loadb(db_blob, engine.mode), ids))
            del ids_blob, db_blob
        engine.compiled, engine.loaded = 0, count
        engine._local = threading.local()
        return engine

    def _compile(self, patterns: list[bytes]) -> Any:
        hs = hyperscan_module()
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
            db = hyperscan_module().loadb(blob, self.mode)
        except Exception as exc:  # noqa: BLE001 - a file from another hyperscan build or CPU, or a torn one
            log.info("compiled watch list cache %s unusable (%s): compiling again", path.name, exc)
            return None
        try:
            os.utime(path)        # recently used: kept by the pruning in _save
        except OSError:
            pass
        return db

    def _save(self, cache_dir: Path, digest: str, db: Any) -> None:
        """Write atomically (a crash leaves no torn file under the final name); never fatal."""
        write_atomically(cache_dir / (digest + _CACHE_SUFFIX), hyperscan_module().dumpb(db), prune=True)

    def _scratches(self) -> list[Any]:
        # A hyperscan scratch serves one scan at a time: one set per thread (polls match in
        # the event loop's executor threads).
        scratches = getattr(self._local, "scratches", None)
        if scratches is None:
            hs = hyperscan_module()
            scratches = self._local.scratches = [hs.Scratch(db) for db, _ids in self.databases]
        return scratches

    def ends(self, text: str) -> Iterator[tuple[int, int, int]]:
        data = text.encode("utf-8")
        found: list[tuple[int, int]] = []
        append = found.append
        for (db, ids), scratch in zip(self.databases, self._scratches()):
            def on_match(local: int, _from: int, to: int, _flags: int, _ctx: object, ids: array[int] = ids) -> None:
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


class Automaton:
    """The keys of one folding (plain or strict), their users, and the engine that finds them."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.fold_text: Callable[[str], str] = fold_strict if strict else fold
        self.phrases: list[str] = []
        self.codes = array("q")                    # packed (entry, role, index), one per phrase
        self.lengths = array("I")                  # per key: its length without the padding
        self.first = array("q")                    # per key: its first user (packed)
        self.more: dict[int, list[int]] = {}       # key -> its further users (few keys have any)
        self.engine: AhoCorasickEngine | HyperscanEngine | None = None

    def add(self, phrase: str, entry: int, role: int, index: int) -> None:
        """Register one phrase of one entry (term, exclude or require)."""
        self.phrases.append(phrase)
        self.codes.append(pack_use(entry, role, index))

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
            empty = [unpack_use(code) for form, code in zip(forms, codes) if not form]
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
    def _engine(keys: list[str], backend: str, cache_dir: Path | None) -> AhoCorasickEngine | HyperscanEngine:
        """The engine for these key forms (unpadded)."""
        use_hs = backend == "hyperscan" or (backend == "auto" and len(keys) >= HYPERSCAN_MIN_KEYS)
        if use_hs and hyperscan_module() is not None:
            try:
                return HyperscanEngine(keys, cache_dir if len(keys) >= CACHE_MIN_KEYS else None)
            except Exception as exc:  # noqa: BLE001 - any failure of the optional engine: the fallback still matches
                log.warning("hyperscan could not compile the watch list (%s): using pyahocorasick", exc)
        return AhoCorasickEngine(keys)

    @property
    def active(self) -> bool:
        """Whether the automaton holds any key (an empty one is never run)."""
        return self.engine is not None

    def users(self, key_id: int) -> list[tuple[int, int, int]]:
        """The (entry, role, index) that use a key."""
        out = [unpack_use(self.first[key_id])]
        extra = self.more.get(key_id)
        if extra:
            out.extend(unpack_use(code) for code in extra)
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
