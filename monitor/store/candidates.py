"""The repost candidates a batch of new hits is compared with, read once per batch, and for a
retro-hunt kept from one batch to the next while nothing else writes the database.

What one query per new hit would return: the newest :data:`REPOST_CANDIDATES` hits of the entry
first seen in the repost window, on other items, newest first (by first seen, then id). The
batch's own new hits join the lists as they are given ids. (An item has at most one hit per entry
and a new hit's (item, entry) is not stored yet, so "on other items" never drops a stored row:
reading the newest :data:`REPOST_CANDIDATES` rows of each entry is enough, and keeping one more.)
"""

from __future__ import annotations

import bisect
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import timedelta

from monitor.reposts import REPOST_CANDIDATES, REPOST_WINDOW_DAYS, EarlierHit, TitleForms, group_of, long_enough
from monitor.store.base import chunks, marks, req_dt, ts

# (first_seen, id, repost_of, item_pk, title): ids are unique, so rows sort by the first two.
Row = tuple[str, int, int | None, int, str | None]

#: Rows a retro-hunt's candidates keep between batches at most (then they are read again).
MAX_KEPT_ROWS = 100_000


class Candidates:
    """The candidate lists of the watch entries a batch needs (:meth:`read`), kept in step with
    the batch's new hits (:meth:`add`). One object serves several batches of a retro-hunt when
    :meth:`still_valid` says so: its lists then need no reading but for entries new to it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._now = ""
        self.since = ""                              # the repost window's start, at the last read
        # Each list in ascending (first_seen, id) order; new hits go in with insort.
        self._lists: dict[str, list[Row]] = {}
        self._rows = 0
        self._item_of: dict[int, int] = {}         # new hit id -> its item pk
        self._forms = TitleForms()
        self._seen: tuple[int, int] | None = None   # (data_version, total_changes) after the last batch

    def read(self, watches: Iterable[str], now: str) -> None:
        """Make the lists of ``watches`` current for a batch of hits first seen ``now`` (the window
        only moves forward: :meth:`still_valid` refuses a clock that went back)."""
        self._now = now
        self.since = since = ts(req_dt(now) - timedelta(days=REPOST_WINDOW_DAYS))
        conn = self._conn
        missing = [watch for watch in dict.fromkeys(watches) if watch not in self._lists]
        for watch in missing:
            self._lists[watch] = []
        # Most entries have few hits in the window (or none): their rows come in one query per 500
        # entries; an entry with more than REPOST_CANDIDATES gets its own query with a LIMIT.
        counts: dict[str, int] = {}
        for part in chunks(missing):
            counts.update(conn.execute(
                f"SELECT watch, count(*) FROM hits WHERE watch IN ({marks(len(part))}) AND first_seen >= ? "
                "GROUP BY watch", (*part, since)).fetchall())
        few = [watch for watch, n in counts.items() if n <= REPOST_CANDIDATES]
        for part in chunks(few):
            for row in conn.execute(
                    f"SELECT h.first_seen, h.id, h.repost_of, h.item_pk, i.title, h.watch FROM hits h "
                    f"JOIN items i ON i.id = h.item_pk WHERE h.watch IN ({marks(len(part))}) AND h.first_seen >= ?",
                    (*part, since)):
                self._lists[row[5]].append(row[:5])
        for watch, n in counts.items():
            if n > REPOST_CANDIDATES:
                self._lists[watch] = conn.execute(
                    "SELECT h.first_seen, h.id, h.repost_of, h.item_pk, i.title FROM hits h "
                    "JOIN items i ON i.id = h.item_pk WHERE h.watch = ? AND h.first_seen >= ? "
                    "ORDER BY h.first_seen DESC, h.id DESC LIMIT ?", (watch, since, REPOST_CANDIDATES)).fetchall()
        for watch in counts:
            rows = self._lists[watch]
            rows.sort()
            self._rows += len(rows)

    def _newest(self, watch: str, pk: int) -> Iterator[EarlierHit]:
        taken = 0
        since = self.since
        for row in reversed(self._lists.get(watch, ())):
            if taken == REPOST_CANDIDATES or row[0] < since:     # older rows are out of the window
                return
            if row[3] != pk:
                taken += 1
                yield EarlierHit(*row[1:])

    def group(self, pk: int, watch: str, key: str) -> tuple[int, int] | None:
        """(first hit, its item pk) of the group a new hit of ``watch`` on item ``pk`` joins, or None."""
        if not long_enough(key):
            return None
        best = group_of(key, self._newest(watch, pk), self._forms)
        if best is None:
            return None
        first, item_pk = best
        if item_pk is None:
            item_pk = self._item_of.get(first)
            if item_pk is None:
                row = self._conn.execute("SELECT item_pk FROM hits WHERE id = ?", (first,)).fetchone()
                if row is None:
                    return None
                item_pk = row[0]
        return first, item_pk

    def add(self, hit_id: int, pk: int, watch: str, repost_of: int | None, title: str | None) -> None:
        """A new hit of this batch, first seen now: a candidate for the hits after it."""
        self._item_of[hit_id] = pk
        rows = self._lists.get(watch)
        if rows is not None:
            bisect.insort(rows, (self._now, hit_id, repost_of, pk, title))
            self._rows += 1
            if len(rows) > 2 * (REPOST_CANDIDATES + 1):
                # Only the newest are ever read (at most one row per item: one more than the limit).
                self._rows -= len(rows) - (REPOST_CANDIDATES + 1)
                del rows[:len(rows) - (REPOST_CANDIDATES + 1)]

    # ------------------------------------------------------------ kept between batches

    def batch_done(self) -> None:
        """Note the database's state after the batch's commit: :meth:`still_valid` compares it."""
        self._forms.bound()
        self._seen = (self._conn.execute("PRAGMA data_version").fetchone()[0], self._conn.total_changes)

    def still_valid(self, now: str) -> bool:
        """Whether the lists still hold what reading them again would give for a batch first seen
        ``now``: no other connection committed (``data_version``), this one wrote nothing else
        (``total_changes``), the clock did not go back, and the lists are not too big to keep."""
        if self._seen is None or self._rows > MAX_KEPT_ROWS or len(self._item_of) > MAX_KEPT_ROWS:
            return False
        since = ts(req_dt(now) - timedelta(days=REPOST_WINDOW_DAYS))
        seen = (self._conn.execute("PRAGMA data_version").fetchone()[0], self._conn.total_changes)
        return seen == self._seen and since >= self.since and now >= self._now
