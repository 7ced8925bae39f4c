"""The per-hit way of storing hits, as the store did it before storing them per batch: the
reference the batched path (monitor.store.hits) is held to. One query per hit for the repost
candidates, the triage and snippets computed inside the write transaction, one INSERT per hit."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from monitor.config import WatchEntry
from monitor.privacy import could_hold_personal_data, masked_snippet
from monitor.records import Hit
from monitor.reposts import REPOST_WINDOW_DAYS, EarlierHit, group_of, long_enough, title_key
from monitor.routing import Route, outbox_row, routes
from monitor.store import Store
from monitor.store.base import chunks, dumps, marks, req_dt, ts
from monitor.triage import Triage, assess


class PerHitStore(Store):
    """A Store whose hits are stored one by one (``prepared`` and kept repost candidates are ignored:
    everything is computed from the stored post). ``candidates`` is the repost candidate limit it reads."""

    candidates = 1000

    def _insert_hits(self, pairs: Sequence[tuple[int, Hit]], watches: Mapping[str, WatchEntry], *,
                     retro: bool, now: str, prepared: Any = None, candidates: Any = None) -> tuple[int, int]:
        conn = self._conn
        item_pks = list(dict.fromkeys(pk for pk, _ in pairs))
        existing: set[tuple[int, str]] = set()
        for part in chunks(item_pks):
            existing.update(conn.execute(
                f"SELECT item_pk, watch FROM hits WHERE item_pk IN ({marks(len(part))})", part).fetchall())
        muted = set(conn.execute("SELECT chat, watch FROM mutes WHERE until > ?", (now,)).fetchall()) \
            if pairs else set()
        titles: dict[int, str] = {}
        triages: dict[int, tuple[Triage, str, str]] = {}
        maskable: dict[tuple[int, str], bool] = {}
        found: dict[Route, list[int]] = {}
        group_items: dict[int, int] = {}
        new_hits = 0
        for pk, hit in pairs:
            if (pk, hit.watch) in existing:
                continue
            existing.add((pk, hit.watch))
            watch = watches.get(hit.watch)
            if pk not in triages:
                triages[pk] = self._triage_of(pk)
                titles[pk] = title_key(triages[pk][1])
            triage, title, text = triages[pk]
            severity = triage.severity(watch.severity if watch else "medium")
            shown = text if hit.field == "text" else title
            if (pk, hit.field) not in maskable:
                maskable[(pk, hit.field)] = could_hold_personal_data(shown)
            snippet = masked_snippet(shown, hit.start, hit.end, hit.terms, mask=maskable[(pk, hit.field)])
            first = self._repost_of_one(pk, hit.watch, titles[pk], now)
            if first is not None:
                group_items[first[0]] = first[1]
            cur = conn.execute(
                "INSERT OR IGNORE INTO hits (item_pk, watch, kind, severity, terms, field, start_pos, end_pos, "
                "retro, first_seen, false_positive, repost_of, snippet) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                (pk, hit.watch, watch.kind if watch else "other", severity,
                 json.dumps(list(hit.terms), ensure_ascii=False), hit.field, hit.start, hit.end,
                 int(retro), now, first[0] if first else None, snippet))
            if cur.rowcount != 1:
                continue
            new_hits += 1
            for route in routes(pk, hit.watch, watch.chats if watch else (), first[0] if first else None, muted):
                found.setdefault(route, []).append(cur.lastrowid)  # type: ignore[arg-type]
        rows = []
        for route, ids in found.items():
            first_item = group_items[route.first_hit] if route.first_hit is not None else None
            kind, state, payload = outbox_row(route, retro=retro, first_item_pk=first_item)
            rows.append((route.chat, kind, route.item_pk, json.dumps(ids), dumps(payload), state, now, 0, now))
        conn.executemany(
            "INSERT INTO outbox (chat, kind, item_pk, hit_ids, payload, state, created, attempts, next_attempt) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return new_hits, len(rows)

    def _triage_of(self, pk: int) -> tuple[Triage, str, str]:
        row = self._conn.execute("SELECT title, text, triage FROM items WHERE id = ?", (pk,)).fetchone()
        title, text, stored = (row[0] or "", row[1] or "", row[2]) if row else ("", "", None)
        triage = Triage.from_json(stored)
        if triage is None:
            triage = assess(title, text)
            self._conn.execute("UPDATE items SET triage = ? WHERE id = ?", (triage.to_json(), pk))
        return triage, title, text

    def _repost_of_one(self, pk: int, watch: str, key: str, now: str) -> tuple[int, int] | None:
        if not long_enough(key):
            return None
        since = ts(req_dt(now) - timedelta(days=REPOST_WINDOW_DAYS))
        cur = self._conn.execute(
            "SELECT h.id, h.repost_of, h.item_pk, i.title FROM hits h JOIN items i ON i.id = h.item_pk "
            "WHERE h.watch = ? AND h.first_seen >= ? AND h.item_pk != ? ORDER BY h.first_seen DESC, h.id DESC "
            "LIMIT ?", (watch, since, pk, self.candidates))
        best = group_of(key, (EarlierHit(*row) for row in cur.fetchall()))
        if best is None:
            return None
        first, item_pk = best
        if item_pk is None:
            row = self._conn.execute("SELECT item_pk FROM hits WHERE id = ?", (first,)).fetchone()
            if row is None:
                return None
            item_pk = row[0]
        return first, item_pk
