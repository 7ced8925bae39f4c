"""Storing new hits (of a poll or a retro-hunt) with their triage, snippets, repost groups and
outbox rows, inside the caller's write transaction.

The work is done per batch, not per hit: the posts' rows are read in one query per 500 posts,
each post's triage and snippets are computed once (or taken from a :class:`monitor.hitprep.Prepared`
computed before the transaction), the repost candidates of each watch entry are read once
(:mod:`monitor.store.candidates`; a retro-hunt keeps them from batch to batch while nothing else
writes) and kept up to date in memory as the batch's hits join them, and the hits, triages and outbox rows
are written with one ``executemany`` each. What is stored is what storing the hits one by one
stores (same ids, snippets, triage, groups and rows; tested against that per-hit path).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from monitor.config import WatchEntry
from monitor.records import Hit
from monitor.reposts import long_enough, title_key
from monitor.routing import Route, outbox_row, routes
from monitor.store.base import StoreBase, chunks, dumps, marks
from monitor.store.candidates import Candidates

if TYPE_CHECKING:
    from monitor.hitprep import Prepared, Snippets
    from monitor.triage import Triage

log = logging.getLogger("monitor.store")


class _Post:
    """An item about to get new hits, as stored now: its title, text, triage and title key."""

    __slots__ = ("_fresh", "_severities", "_text", "_title", "key", "raw_title", "snippets", "triage")

    def __init__(self, raw_title: str | None, title: str, text: str, triage: Triage,
                 prepared: Prepared | None) -> None:
        self.raw_title = raw_title
        self.triage = triage
        self.key = title_key(title)        # None and "" fold alike
        self.snippets: Mapping[Hit, str] = prepared.snippets if prepared is not None else {}
        self._fresh: Snippets | None = None
        self._title, self._text = title, text
        self._severities: dict[str, str] = {}

    def severity(self, configured: str) -> str:
        """The triage's severity for an entry configured with ``configured`` (once per value)."""
        found = self._severities.get(configured)
        if found is None:
            found = self._severities[configured] = self.triage.severity(configured)
        return found

    def snippet(self, hit: Hit) -> str:
        found = self.snippets.get(hit)
        if found is not None:
            return found
        if self._fresh is None:
            from monitor.hitprep import Snippets

            self._fresh = Snippets(self._title, self._text)
        return self._fresh.of(hit)


class HitsMixin(StoreBase):
    """The hit-storing half of ingest (see :class:`monitor.store.Store`)."""

    def _posts(self, pks: Sequence[int], prepared: Mapping[int, Prepared]) -> dict[int, _Post]:
        """The items about to get hits, with their triage: the stored one, else the prepared one
        (when prepared from the stored title and text), else computed now. Triages not stored
        yet are stored (once per item; a changed text clears it), so alert, hits and exports agree."""
        from monitor.triage import Triage, assess  # the phone and ID finders: only once hits are stored

        posts: dict[int, _Post] = {}
        to_store: list[tuple[str, int]] = []
        rows: dict[int, tuple[str | None, str | None, str | None]] = {}
        for part in chunks(pks):
            for pk, title, text, stored in self._conn.execute(
                    f"SELECT id, title, text, triage FROM items WHERE id IN ({marks(len(part))})", part):
                rows[pk] = (title, text, stored)
        for pk in pks:
            raw_title, raw_text, stored = rows.get(pk, (None, None, None))
            title, text = raw_title or "", raw_text or ""
            ready = prepared.get(pk)
            if ready is not None and not ready.fits(title, text):
                ready = None
            triage = Triage.from_json(stored)
            if triage is None:
                triage = ready.triage if ready is not None else assess(title, text)
                to_store.append((triage.to_json(), pk))
            posts[pk] = _Post(raw_title, title, text, triage, ready)
        self._conn.executemany("UPDATE items SET triage = ? WHERE id = ?", to_store)
        return posts

    def _insert_hits(self, pairs: Sequence[tuple[int, Hit]], watches: Mapping[str, WatchEntry], *,
                     retro: bool, now: str, prepared: Mapping[int, Prepared] | None = None,
                     candidates: Candidates | None = None) -> tuple[int, int]:
        """Insert the hits an item did not have (by (item, watch)); queue their outbox rows as
        :mod:`monitor.routing` says (repost groups from :mod:`monitor.reposts`). ``prepared``
        (item pk -> its triage and snippets computed before the transaction) spares computing
        them here; ``candidates``, the repost candidates kept from the batch before (a
        retro-hunt's, still valid), spares reading them again. Returns (new hits, outbox rows)."""
        conn = self._conn
        existing: set[tuple[int, str]] = set()
        for part in chunks(list(dict.fromkeys(pk for pk, _ in pairs))):
            existing.update(conn.execute(
                f"SELECT item_pk, watch FROM hits WHERE item_pk IN ({marks(len(part))})", part).fetchall())
        new: list[tuple[int, Hit]] = []
        for pk, hit in pairs:
            if (pk, hit.watch) not in existing:
                existing.add((pk, hit.watch))
                new.append((pk, hit))
        if not new:
            return 0, 0
        muted = set(conn.execute("SELECT chat, watch FROM mutes WHERE until > ?", (now,)).fetchall())
        posts = self._posts(list(dict.fromkeys(pk for pk, _ in new)), prepared or {})
        if candidates is None:
            candidates = Candidates(conn)
        candidates.read((h.watch for pk, h in new if long_enough(posts[pk].key)), now)
        # Ids given here are those SQLite would give one insert at a time (the largest rowid plus one):
        # the outbox rows name them before the single executemany.
        next_id: int = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM hits").fetchone()[0]
        rows = []
        terms_json: dict[tuple[str, ...], str] = {}      # a few distinct term lists over many hits
        found: dict[Route, list[int]] = {}
        route_lists: dict[tuple[int, tuple[str, ...], int | None], list[list[int]]] = {}
        group_items: dict[int, int] = {}           # first hit -> its item pk
        for pk, hit in new:
            watch = watches.get(hit.watch)
            if watch is None:
                log.warning("hit for watch entry %r that is not configured: stored, not alerted", hit.watch)
            post = posts[pk]
            first = candidates.group(pk, hit.watch, post.key)
            if first is not None:
                group_items[first[0]] = first[1]
            hit_id, next_id = next_id, next_id + 1
            terms = terms_json.get(hit.terms)
            if terms is None:
                terms = terms_json[hit.terms] = json.dumps(list(hit.terms), ensure_ascii=False)
            rows.append((hit_id, pk, hit.watch, watch.kind if watch else "other",
                         post.severity(watch.severity if watch else "medium"), terms, hit.field, hit.start, hit.end,
                         int(retro), now, first[0] if first else None, post.snippet(hit)))
            first_hit = first[0] if first else None
            candidates.add(hit_id, pk, hit.watch, first_hit, post.raw_title)
            chats = watch.chats if watch else ()
            # Without mutes a hit's routes depend on its item, chats and group only: the dozens of
            # entries that hit one post through one alias share them (and their rows' id lists).
            lists = route_lists.get((pk, chats, first_hit)) if not muted else None
            if lists is None:
                lists = [found.setdefault(route, []) for route in routes(pk, hit.watch, chats, first_hit, muted)]
                if not muted:
                    route_lists[(pk, chats, first_hit)] = lists
            for ids in lists:
                ids.append(hit_id)
        conn.executemany(
            "INSERT INTO hits (id, item_pk, watch, kind, severity, terms, field, start_pos, end_pos, "
            "retro, first_seen, false_positive, repost_of, snippet) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
            rows)
        outbox = []
        for route, ids in found.items():
            first_item = group_items[route.first_hit] if route.first_hit is not None else None
            kind, state, payload = outbox_row(route, retro=retro, first_item_pk=first_item)
            outbox.append((route.chat, kind, route.item_pk, json.dumps(ids), dumps(payload), state, now, 0, now))
        conn.executemany(
            "INSERT INTO outbox (chat, kind, item_pk, hit_ids, payload, state, created, attempts, next_attempt) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", outbox)
        return len(rows), len(outbox)
