"""Ingest: what one poll (or a retro-hunt) learned goes in, in ONE transaction: items, hits, their
alert rows, evidence, the poll log row, the source state and its health message."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.config import WatchEntry
from monitor.errors import StoreError
from monitor.evidence import PageRecord
from monitor.health import HealthState, transition
from monitor.records import Hit, Item, PollRecord, PostRow, SaveResult, is_cut_of
from monitor.store.base import ITEM_COLUMNS, guarded, insert_rows, item_of, opt_ts, ts
from monitor.store.candidates import Candidates
from monitor.store.hits import HitsMixin
from monitor.store.retention import save_evidence

if TYPE_CHECKING:
    from monitor.hitprep import Prepared
    from monitor.triage import Triage

log = logging.getLogger("monitor.store")
#: WAL pages a retro-hunt lets accumulate before a checkpoint (256 MB at most; 4 KB pages).
RETRO_WAL_PAGES = 65_536

_TELEGRAM_ID = re.compile(r"^[A-Za-z0-9_]{1,64}/(\d{1,19})$")


def _newer_item_id(old: str | None, new: str) -> str:
    """The id to remember as the source's newest: Telegram "chan/123" keeps the largest number."""
    m_new = _TELEGRAM_ID.match(new)
    m_old = _TELEGRAM_ID.match(old) if old else None
    if m_new and m_old and int(m_old.group(1)) > int(m_new.group(1)):
        return old  # type: ignore[return-value]
    return new


def _last_item_id(old: str | None, items: Sequence[Item]) -> str | None:
    if not items:
        return old
    if all(_TELEGRAM_ID.match(it.item_id) for it in items):
        best = max(items, key=lambda it: int(_TELEGRAM_ID.match(it.item_id).group(1))).item_id  # type: ignore[union-attr]
        return _newer_item_id(old, best)
    return items[-1].item_id


def _changed(item: Item, title: str | None, text: str | None, erased: bool = False) -> bool:
    # text None = "unknown this poll": only the title can tell a change.
    # A listing that cuts long titles ("Orang…") does not undo the whole title of the item page.
    # A text erased by retention is not a change either (the listing still showing the post
    # must not store it again).
    same_title = item.title == (title or "") or is_cut_of(item.title, title)
    return not same_title or (item.text is not None and not erased and item.text != text)


class IngestMixin(HitsMixin):
    """Writes of polls and retro-hunts (see :class:`monitor.store.Store`)."""

    _retro_candidates: Candidates | None = None     # kept between a retro-hunt's batches
    _retro_checkpoint: int | None = None            # the WAL checkpoint interval before the hunt

    @guarded("known ids")
    def known_ids(self, source: str, ids: Sequence[str]) -> set[str]:
        """Which of these item ids are stored for this source."""
        return set(self._lookup(source, ids))

    @guarded("to_match")
    def to_match(self, source: str, items: Sequence[Item]) -> list[Item]:
        """The items that are new or whose title or text changed; known items come back with
        their stored text when this poll did not learn it, so matching sees the whole post."""
        stored = self._lookup(source, [it.item_id for it in items])
        out: list[Item] = []
        seen: set[str] = set()
        for item in items:
            if item.item_id in seen:
                continue
            seen.add(item.item_id)
            known = stored.get(item.item_id)
            if known is None:
                out.append(item)
            elif _changed(item, known[1], known[2], known[3]):
                out.append(item if item.text is not None else replace(item, text=known[2]))
        return out

    @guarded("save poll")
    def save_poll(self, poll: PollRecord, items: Sequence[Item], hits: Mapping[str, Sequence[Hit]],
                  watches: Mapping[str, WatchEntry], *, failure_threshold: int,
                  health_chats: Sequence[str], evidence: Mapping[str, Sequence[PageRecord]] | None = None,
                  meta: Mapping[str, str | None] | None = None) -> SaveResult:
        """Store everything one poll learned in ONE transaction.

        New items are inserted, changed ones updated (text None keeps the stored text); ``hits``
        (item_id -> hits) become hit rows when the item did not match that watch entry before,
        and each item's new hits make one alert outbox row per chat. The poll log, the source
        state and, on a health transition, one health row per health chat go in with them.
        ``health_event`` reports the transition even when ``health_chats`` is empty. ``evidence``
        (item_id -> the pages fetched for it) is kept for the items that hit, in the same transaction,
        and so are the ``meta`` values (key -> value, None deletes: what the poll's conditional
        requests remember).
        """
        for item in items:
            if item.source != poll.source:
                raise StoreError(f"save poll: item {item.item_id!r} belongs to source {item.source!r}, "
                                 f"not {poll.source!r}")
        now = ts(self._now())
        unique = list({it.item_id: it for it in reversed(items)}.values())[::-1]   # first occurrence wins
        # The triage of a post that hits costs up to ~0.5 s on a long sample: done before the write lock.
        ready: dict[str, Triage] = {}
        if hits:
            from monitor.triage import assess  # the phone and ID finders: only for polls that hit

            ready = {it.item_id: assess(it.title, it.text) for it in unique
                     if it.item_id in hits and it.text is not None}
        with self._write() as conn:
            stored = self._lookup(poll.source, [it.item_id for it in unique])
            new_rows = []
            changed_rows = []
            # A listing's rows share few dates: each is formatted once (~10 us each).
            dates = {date: opt_ts(date) for date in {it.date for it in unique}}
            for it in unique:
                known = stored.get(it.item_id)
                if known is None:
                    new_rows.append((poll.source, it.item_id, it.url, it.title, it.text, it.author,
                                     dates[it.date], now, now))
                elif _changed(it, known[1], known[2], known[3]):
                    title = known[1] if is_cut_of(it.title, known[1]) else it.title
                    changed_rows.append((it.url, title, None if known[3] else it.text, it.author, dates[it.date],
                                         now, known[0]))
            # New items in a few multi-row statements, changed ones in one executemany, no per-item
            # commit, so a poll of a large listing stays cheap.
            insert_rows(conn, "INSERT OR IGNORE INTO items (source, item_id, url, title, text, author, date, "
                              "first_seen, updated)", new_rows)
            conn.executemany(
                "UPDATE items SET url = ?, title = ?, text = coalesce(?, text), author = coalesce(?, author), "
                "date = coalesce(?, date), updated = ?, triage = NULL WHERE id = ?", changed_rows)
            # Only the items that hit need their row id (triage, hit rows, evidence): ``ready`` is a subset.
            pks = {k: v[0] for k, v in self._lookup(poll.source, list(hits)).items()} if hits else {}
            conn.executemany("UPDATE items SET triage = ? WHERE id = ? AND triage IS NULL",
                             [(triage.to_json(), pks[i]) for i, triage in ready.items() if i in pks])
            pairs: list[tuple[int, Hit]] = []
            for item_id, item_hits in hits.items():
                pk = pks.get(item_id)
                if pk is None:
                    log.warning("save poll %s: hits for unknown item %r skipped", poll.source, item_id)
                    continue
                pairs.extend((pk, h) for h in item_hits)
            new_hits, alerts = self._insert_hits(pairs, watches, retro=False, now=now)
            for item_id in hits:
                if evidence and item_id in evidence and item_id in pks:
                    save_evidence(conn, pks[item_id], evidence[item_id])
            health_event = self._record_poll(poll, unique, len(new_rows), new_hits, now,
                                             failure_threshold=failure_threshold, health_chats=health_chats)
            for key, value in (meta or {}).items():
                if value is None:
                    conn.execute("DELETE FROM meta WHERE key = ?", (key,))
                else:
                    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))
        return SaveResult(new_items=len(new_rows), changed_items=len(changed_rows), new_hits=new_hits,
                          alerts=alerts, health_event=health_event)

    def _record_poll(self, poll: PollRecord, items: Sequence[Item], new_items: int, new_hits: int, now: str,
                     *, failure_threshold: int, health_chats: Sequence[str]) -> str | None:
        """Poll log row, source state and health transition (inside the caller's transaction)."""
        started = ts(poll.started)
        # Plain SQL: sqlite-utils' insert/upsert look the table up each time (~0.2 ms a poll).
        self._conn.execute(
            "INSERT INTO polls (source, started, duration, ok, error, items, new_items, hits) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (poll.source, started, float(poll.duration), int(poll.ok), poll.error,
                                                poll.items or len(items), new_items, new_hits))
        cur = self._conn.execute("SELECT * FROM source_state WHERE source = ?", (poll.source,))
        names = [d[0] for d in cur.description]
        row = cur.fetchone()
        state: dict[str, Any] = dict(zip(names, row)) if row else {}
        health, event = transition(HealthState(
            consecutive_failures=state.get("consecutive_failures") or 0,
            health_alerted=bool(state.get("health_alerted")), failing_since=state.get("failing_since"),
            last_ok=state.get("last_ok"), last_error=state.get("last_error")), poll, failure_threshold, started)
        self._conn.execute(
            "INSERT INTO source_state (source, last_poll, last_ok, consecutive_failures, last_error, failing_since, "
            "health_alerted, had_items, last_item_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(source) DO "
            "UPDATE SET last_poll = excluded.last_poll, last_ok = excluded.last_ok, "
            "consecutive_failures = excluded.consecutive_failures, last_error = excluded.last_error, "
            "failing_since = excluded.failing_since, health_alerted = excluded.health_alerted, "
            "had_items = excluded.had_items, last_item_id = excluded.last_item_id",
            (poll.source, started, health.last_ok, health.consecutive_failures, health.last_error,
             health.failing_since, int(health.health_alerted),
             int(bool(state.get("had_items")) or bool(items) or poll.items > 0),
             _last_item_id(state.get("last_item_id"), items)))
        if event is not None:
            self._enqueue(health_chats, "health", event.payload, now)
            return event.event
        return None

    # ------------------------------------------------------------ retro-hunt

    @guarded("count posts")
    def count_posts(self, since: datetime) -> int:
        """How many items were first seen at or after ``since``."""
        count: int = self._conn.execute("SELECT count(*) FROM items WHERE first_seen >= ?",
                                        (ts(since),)).fetchone()[0]
        return count

    def iter_posts(self, since: datetime, batch: int = 500) -> Iterator[list[Item]]:
        """Items first seen at or after ``since``, oldest first, in lists of up to ``batch``.

        Each batch is its own query (keyset on the row id): no cursor stays open between batches,
        so the caller may write (save_retro_hits) while iterating.
        """
        last = 0
        while True:
            rows = self._posts_after(since, last, batch)
            if not rows:
                return
            last = rows[-1][0]
            yield [item_of(row[1:]) for row in rows]

    def iter_post_rows(self, since: datetime, batch: int = 500) -> Iterator[list[PostRow]]:
        """What :meth:`iter_posts` gives, as the (pk, source, item_id, title, text) rows a
        retro-hunt matches: no Item per row (cheaper to build and to send to a worker process)."""
        # Rows are read in id order; those before the first id first seen since then are all older
        # (found in the first_seen index): a 30-day hunt does not step through a year of posts.
        first = self._first_post_since(since)
        if first is None:
            return
        last = first - 1
        while True:
            rows = self._post_rows_after(since, last, batch)
            if not rows:
                return
            last = rows[-1][0]
            yield rows

    @guarded("iter posts")
    def _first_post_since(self, since: datetime) -> int | None:
        # "+id": plain min(id) walks the table in id order until a row is recent enough (every
        # post when none is); min(+id) reads the first_seen index's recent entries only.
        first = self._conn.execute("SELECT min(+id) FROM items WHERE first_seen >= ?", (ts(since),)).fetchone()[0]
        return None if first is None else int(first)

    @guarded("iter posts")
    def _post_rows_after(self, since: datetime, after_pk: int, batch: int) -> list[PostRow]:
        return self._conn.execute(
            "SELECT id, source, item_id, title, text FROM items WHERE first_seen >= ? AND id > ? ORDER BY id LIMIT ?",
            (ts(since), after_pk, max(1, batch))).fetchall()

    @guarded("iter posts")
    def _posts_after(self, since: datetime, after_pk: int, batch: int) -> list[tuple[Any, ...]]:
        return self._conn.execute(
            f"SELECT i.id, {ITEM_COLUMNS} FROM items i WHERE i.first_seen >= ? AND i.id > ? ORDER BY i.id LIMIT ?",
            (ts(since), after_pk, max(1, batch))).fetchall()

    @guarded("save retro hits")
    def save_retro_hits(self, hits: Mapping[tuple[str, str], Sequence[Hit]],
                        watches: Mapping[str, WatchEntry],
                        prepared: Mapping[tuple[str, str], Prepared] | None = None) -> int:
        """Store retro-hunt hits keyed by (source, item_id), marked retro, with their alert rows
        (as in save_poll), in one transaction. ``prepared`` (same keys): the posts' triage and
        snippets computed before (:func:`monitor.hitprep.prepare`), used where the stored post is
        still what they were computed from. Returns how many hits were new."""
        now = ts(self._now())
        by_source: dict[str, list[str]] = {}
        for source, item_id in hits:
            by_source.setdefault(source, []).append(item_id)
        # The repost candidates of the hunt's batch before, if nothing changed them since (any
        # other write, by this connection or another, or a clock that went back drops them).
        kept, self._retro_candidates = self._retro_candidates, None
        if self._retro_checkpoint is None:
            # A hunt writes its hits batch after batch into the same index pages: checkpointing
            # every ~4 MB of WAL (SQLite's default) copied them to the file and synced it after
            # nearly every batch (~12 ms each). For the hunt's duration the WAL may grow to
            # RETRO_WAL_PAGES pages; durability is the same (synchronous=NORMAL in WAL mode).
            self._retro_checkpoint = self._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
            self._conn.execute(f"PRAGMA wal_autocheckpoint = {max(RETRO_WAL_PAGES, self._retro_checkpoint)}")
        with self._write():
            if kept is not None and not kept.still_valid(now):
                kept = None
            candidates = kept if kept is not None else Candidates(self._conn)
            pairs: list[tuple[int, Hit]] = []
            ready: dict[int, Prepared] = {}
            for source, ids in by_source.items():
                pks = self._lookup(source, ids)
                for item_id in ids:
                    if item_id in pks:
                        pk = pks[item_id][0]
                        pairs.extend((pk, h) for h in hits[(source, item_id)])
                        if prepared and (source, item_id) in prepared:
                            ready[pk] = prepared[(source, item_id)]
            new_hits, _ = self._insert_hits(pairs, watches, retro=True, now=now, prepared=ready,
                                            candidates=candidates)
        candidates.batch_done()
        self._retro_candidates = candidates
        return new_hits

    @guarded("end retro-hunt")
    def end_retro_hunt(self) -> None:
        """Forget the repost candidates kept between a retro-hunt's batches (their memory), and
        checkpoint the WAL as often as before the hunt again."""
        self._retro_candidates = None
        if self._retro_checkpoint is not None:
            self._conn.execute(f"PRAGMA wal_autocheckpoint = {self._retro_checkpoint}")
            self._retro_checkpoint = None
