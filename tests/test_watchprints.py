"""Watch-list fingerprints: computed part by part and compared with the database row by row, with
the same changes found as comparing the whole list at once."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from monitor import watchprints
from monitor.config import WatchEntry
from monitor.store import AsyncStore
from monitor.watchprints import WatchChanges, fingerprints, record, watch_changes


def entries(n: int) -> list[WatchEntry]:
    return [WatchEntry(name=f"Hôpital n°{i}", terms=(f"Hôpital n°{i}", f"hopital-{i}[.]fr"),
                       exclude=("Exercice",) if i % 7 == 0 else (), requires=("dump",) if i % 5 == 0 else (),
                       strict=i % 11 == 0)
            for i in range(n)]


def changes(db: Path, watches: list[WatchEntry], *, keep: bool = True) -> WatchChanges:
    """watch_changes on a real store; recorded afterwards as the daemon does when ``keep``."""
    async def scenario() -> WatchChanges:
        store = AsyncStore(str(db))
        try:
            found = await watch_changes(store, watches)
            if keep:
                await record(store, found.prints, [w.name for w in watches])
            return found
        finally:
            await store.close()

    return asyncio.run(scenario())


def test_fingerprints_by_parts_are_those_of_the_whole_list(monkeypatch: pytest.MonkeyPatch) -> None:
    watches = entries(23)
    whole = fingerprints(watches)              # 23 entries: one part
    monkeypatch.setattr(watchprints, "PART", 4)
    assert fingerprints(watches) == whole
    assert len(set(whole.values())) == 23
    # an entry's fingerprint does not depend on its neighbours
    assert {w.name: fingerprints([w])[w.name] for w in watches} == whole


def test_changed_added_and_removed_entries_are_found_against_the_recorded_prints(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watchprints, "PART", 4)
    db = tmp_path / "l.db"
    watches = entries(30)
    first = changes(db, watches)
    assert first.first and not first.changed and dict(first.prints) == fingerprints(watches)

    again = changes(db, watches)
    assert not again.first and again.changed == () and dict(again.prints) == {}

    edited = list(watches)
    edited[3] = WatchEntry(name=edited[3].name, terms=("Clinique du Parc",))          # terms changed
    edited[12] = replace(edited[12], strict=True)                                  # strictness changed
    edited[20] = replace(edited[20], severity="critical", kind="clinic", chats=("soc",))  # matching unchanged
    del edited[25]                                                                 # removed
    edited.append(WatchEntry(name="CHU de Rennes", terms=("CHU de Rennes",)))      # added
    found = changes(db, edited, keep=False)
    assert [w.name for w in found.changed] == [edited[3].name, edited[12].name, "CHU de Rennes"]
    assert dict(found.prints) == {w.name: fingerprints([w])[w.name] for w in found.changed}

    changes(db, edited)
    assert changes(db, edited).changed == ()
    with sqlite3.connect(db) as conn:
        names = {key.split(":", 1)[1] for (key,) in conn.execute(
            "SELECT key FROM meta WHERE key LIKE 'watch-print:%'")}
    assert names == {w.name for w in edited}
