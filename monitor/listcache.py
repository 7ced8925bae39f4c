"""The compiled watch list as ONE cached file: hyperscan databases plus the folded key table.

A start with 100,000 names otherwise folds 225,000 terms, builds the key tables and loads one
hyperscan database per bucket: over a second before the first byte is matched. The file holds,
per automaton, what :meth:`monitor.matchengine.Automaton.finish` computes (key lengths, users,
engine databases) and the entries whose requires can never be met; it is keyed by a hash of
what decides matching (every entry's name, terms, excludes, requires, strictness; the
normalization version; the hyperscan version), so any edit of the list gives another file.
Only hyperscan-backed lists are cached this way (pyahocorasick builds are not serializable
cheaply; small lists build in milliseconds anyway).
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import pickle
from collections.abc import Sequence
from operator import attrgetter
from pathlib import Path
from typing import Any

from monitor.cachedir import write_atomically
from monitor.config import WatchEntry

log = logging.getLogger("leakmon.match")

_SUFFIX = ".list"
_FORMAT = b"leakmon-list-1"


def list_key(watches: Sequence[WatchEntry], *parts: str, digest: str | None = None) -> str:
    """A hash of what decides matching for this list (plus ``parts``: versions, backend).

    ``digest``, when the caller has one, stands for the entries: a digest of what they were
    read from (:meth:`monitor.configtypes.Config.watches_digest`), so 100,000 entries are not
    hashed again at each start (~0.3 s). Either way the key changes with any entry.
    """
    key = hashlib.sha256(_FORMAT)
    for part in parts:
        key.update(part.encode() + b"\0")
    if digest is not None:
        key.update(b"read from\0" + digest.encode())
        return key.hexdigest()
    # attrgetter builds the tuples in C; marshal version 2 writes no back-references (faster,
    # and the bytes are still a function of the values alone).
    fields = attrgetter("name", "terms", "exclude", "requires", "strict")
    key.update(b"entries\0" + marshal.dumps(list(map(fields, watches)), 2))
    return key.hexdigest()


def load(cache_dir: Path, key: str) -> dict[str, Any] | None:
    """The cached state for ``key``, or None (missing, unreadable, from another build)."""
    path = cache_dir / (key + _SUFFIX)
    try:
        file = path.open("rb")
    except OSError:
        return None
    # Unpickled from the file, not from its bytes read whole: the ~22 MB of a list of 100,000
    # names are then never in memory twice (the peak of every start, measured).
    try:
        with file:
            state = pickle.load(file)
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            return None
    except Exception as exc:  # noqa: BLE001 - a torn or foreign file: build again
        log.info("compiled watch list cache %s unusable (%s): building again", path.name, exc)
        return None
    try:
        os.utime(path)
    except OSError:
        pass
    return state


def save(cache_dir: Path, key: str, state: dict[str, Any]) -> None:
    """Write atomically; prune files unused for 30 days; never fatal."""
    blob = pickle.dumps({**state, "format": _FORMAT}, protocol=pickle.HIGHEST_PROTOCOL)
    write_atomically(cache_dir / (key + _SUFFIX), blob, prune=True)
