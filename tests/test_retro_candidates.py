"""A retro-hunt keeps its repost candidates from one batch to the next only while they are what
reading them again would give: any other write (another connection's, or this store's own) or a
clock that went back makes the next batch read them again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.store import Store
from tests.support.clocks import Clock
from tests.support.records import WATCHES, hit, item, ok_poll

TITLE_A = "Mediboard export of a regional hospital 2024"
TITLE_B = "CHU dump with full patient records for sale"


def repost_of(store: Store, item_id: str) -> int | None:
    row = store._conn.execute("SELECT h.repost_of FROM hits h JOIN items i ON i.id = h.item_pk "
                              "WHERE i.item_id = ?", (item_id,)).fetchone()
    return row[0]


def hunt_with(tmp_path: Path, between: Callable[[Store, Clock, Path], None]) -> tuple[int | None, bool]:
    """Two retro batches with ``between`` in between; the second post has B's title: whether it
    joins B's group (stored in between), and whether the first batch's candidates were kept."""
    clock = Clock()
    store = Store(tmp_path / "db.sqlite", clock=clock)
    try:
        store.save_poll(ok_poll(n=3), [item(1, TITLE_A), item(2, TITLE_B), item(3, TITLE_B + "!")], {}, WATCHES,
                        failure_threshold=3, health_chats=())
        clock.advance(minutes=5)
        assert store.save_retro_hits({("forum", "1"): [hit("Mediboard")]}, WATCHES) == 1
        kept = store._retro_candidates
        between(store, clock, tmp_path)
        assert store.save_retro_hits({("forum", "3"): [hit("Mediboard")]}, WATCHES) == 1
        return repost_of(store, "3"), store._retro_candidates is kept
    finally:
        store.close()


def test_consecutive_batches_keep_their_candidates(tmp_path: Path) -> None:
    assert hunt_with(tmp_path, lambda store, clock, path: clock.advance(minutes=1)) == (None, True)


def test_a_hit_stored_by_another_connection_is_seen(tmp_path: Path) -> None:
    def other(store: Store, clock: Clock, path: Path) -> None:
        second = Store(path / "db.sqlite", clock=clock)
        try:
            assert second.save_retro_hits({("forum", "2"): [hit("Mediboard")]}, WATCHES) == 1
        finally:
            second.close()

    first_of_b = hunt_with(tmp_path, other)
    assert first_of_b[0] is not None and first_of_b[1] is False


def test_a_hit_stored_by_this_store_outside_the_hunt_is_seen(tmp_path: Path) -> None:
    def poll(store: Store, clock: Clock, path: Path) -> None:
        store.save_poll(ok_poll(n=1), [item(2, TITLE_B)], {"2": [hit("Mediboard")]}, WATCHES,
                        failure_threshold=3, health_chats=())

    first_of_b = hunt_with(tmp_path, poll)
    assert first_of_b[0] is not None and first_of_b[1] is False


def test_a_clock_that_goes_back_reads_them_again(tmp_path: Path) -> None:
    assert hunt_with(tmp_path, lambda store, clock, path: clock.advance(days=-1)) == (None, False)


@pytest.mark.parametrize("days", [1, 20])
def test_kept_candidates_leave_the_repost_window(tmp_path: Path, days: int) -> None:
    clock = Clock()
    store = Store(tmp_path / "db.sqlite", clock=clock)
    try:
        store.save_poll(ok_poll(n=2), [item(2, TITLE_B), item(3, TITLE_B + "!")], {}, WATCHES,
                        failure_threshold=3, health_chats=())
        assert store.save_retro_hits({("forum", "2"): [hit("Mediboard")]}, WATCHES) == 1
        kept = store._retro_candidates
        clock.advance(days=days)
        assert store.save_retro_hits({("forum", "3"): [hit("Mediboard")]}, WATCHES) == 1
        assert store._retro_candidates is kept
        # a day later it reposts the first; 20 days later the first is out of the 14-day window
        assert (repost_of(store, "3") is not None) == (days == 1)
    finally:
        store.close()


def test_a_hunt_forgets_its_candidates_when_done(tmp_path: Path) -> None:
    import asyncio

    from monitor.retrohunt import retrohunt
    from monitor.store import AsyncStore

    store = Store(tmp_path / "db.sqlite")
    store.save_poll(ok_poll(n=2), [item(1, TITLE_A, "Mediboard"), item(2, TITLE_B, "Mediboard")], {}, WATCHES,
                    failure_threshold=3, health_chats=())
    store.close()

    async def hunt() -> tuple[int, object]:
        async with AsyncStore(tmp_path / "db.sqlite") as hunting:
            result = await retrohunt(hunting, list(WATCHES.values()), 30, workers=0)
            return result.new_hits, hunting._store._retro_candidates

    assert asyncio.run(hunt()) == (2, None)
