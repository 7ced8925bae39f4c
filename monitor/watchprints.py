"""Fingerprints of watch entries, kept in the database between runs.

An entry added or changed while leakmon was stopped must be retro-hunted at the next start, as a
live reload would have done. Each entry's fingerprint covers what decides what it matches: its name,
its terms, excludes and requires in their folded form (a change of case or accents that folds the same
is no change), its regexes and its strictness. Severity, kind and chats are left out.

The database holds the fingerprints as last recorded; an entry whose fingerprint differs (or that is
not there) is "new or changed". Fingerprints are recorded once the retro-hunt of the entry is done,
so a retro-hunt cut short by a stop is done again at the next start (its hits are stored once
whatever happens: hits are keyed by post and entry).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from monitor.config import WatchEntry
from monitor.normalize import match_forms

if TYPE_CHECKING:
    from monitor.store import AsyncStore

log = logging.getLogger("leakmon.watch")


#: Entries fingerprinted at a time: the 250,000 terms of a list of 100,000 entries are folded
#: part by part, never all at once (their joined text, its folded copies and the 250,000 forms were
#: ~40 MB at the start of the daemon, measured).
PART = 5000


def fingerprints(watches: Sequence[WatchEntry]) -> dict[str, str]:
    """name -> fingerprint (hex sha256) of each entry. Terms are folded in bulk (5,000 entries
    cost one fold per folding, not one per term)."""
    out: dict[str, str] = {}
    for at in range(0, len(watches), PART):
        out.update(_fingerprints(watches[at:at + PART]))
    return out


def _fingerprints(watches: Sequence[WatchEntry]) -> dict[str, str]:
    folded: dict[bool, list[str]] = {False: [], True: []}
    for w in watches:
        folded[w.strict].extend((*w.terms, *w.exclude, *w.requires))
    forms = {strict: iter(match_forms(terms, strict)) for strict, terms in folded.items()}
    del folded
    out: dict[str, str] = {}
    for w in watches:
        it = forms[w.strict]
        terms = sorted({next(it) for _ in w.terms})
        exclude = sorted({next(it) for _ in w.exclude})
        requires = sorted({next(it) for _ in w.requires})
        blob = json.dumps([w.name, terms, sorted(set(w.regex)), exclude, requires, w.strict],
                          ensure_ascii=False, separators=(",", ":"))
        out[w.name] = hashlib.sha256(blob.encode("utf-8")).hexdigest()
    return out


@dataclass(frozen=True)
class WatchChanges:
    """What differs between the watch list and the fingerprints in the database."""

    first: bool                          # nothing was ever recorded: record, hunt nothing
    changed: tuple[WatchEntry, ...]      # new or changed entries, to retro-hunt
    #: the fingerprints to record: of every entry when ``first``, else of the ``changed`` ones
    #: (the others are recorded already, with these very values)
    prints: Mapping[str, str]


async def watch_changes(store: AsyncStore, watches: Sequence[WatchEntry]) -> WatchChanges:
    """Compare ``watches`` with the recorded fingerprints (fingerprints computed off the event loop;
    the recorded ones read row by row, never all at once: 100,000 of them are ~40 MB of Python
    objects)."""
    prints = await asyncio.get_running_loop().run_in_executor(None, fingerprints, list(watches))
    differing = await store.differing_prints(prints)
    if differing is None:
        return WatchChanges(True, (), prints)
    del prints
    return WatchChanges(False, tuple(w for w in watches if w.name in differing), differing)


async def record(store: AsyncStore, prints: Mapping[str, str], names: Sequence[str]) -> None:
    """Record ``prints``; fingerprints of entries not in ``names`` (removed from the config) go."""
    await store.record_watch_prints(dict(prints), list(names))


async def hunt_changes(store: AsyncStore, watches: Sequence[WatchEntry], days: int) -> int:
    """For a one-shot command: retro-hunt the entries new or changed since the last recorded
    fingerprints over ``days`` days, then record. Returns the new hits.

    The first time (no fingerprints yet: a new database, or one written before fingerprints were
    kept) the list is only recorded: what an earlier version already watched is not hunted again.
    """
    changes = await watch_changes(store, watches)
    names = [w.name for w in watches]
    if changes.first:
        await record(store, changes.prints, names)
        log.info("watch list: fingerprints of %d entries recorded (first run: no retro-hunt)", len(names))
        return 0
    new_hits = 0
    if changes.changed:
        from monitor.retrohunt import retrohunt  # its worker pool machinery only when there is a hunt

        result = await retrohunt(store, changes.changed, days)
        new_hits = result.new_hits
        log.info("retro-hunt of %d watch entries new or changed since the last run: %d posts, %d new hits",
                 len(changes.changed), result.posts, result.new_hits)
    await record(store, changes.prints, names)
    return new_hits
