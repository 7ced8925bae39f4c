"""Read queries: source status, stored hits, full-text search, the poll log, kept evidence, and
the integrity check (for the CLI, the Telegram commands and the pipeline)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from monitor.errors import StoreError
from monitor.evidence import PageRecord
from monitor.records import HitView, Item, PollRecord, SourceStatus
from monitor.store.base import HIT_COLUMNS, StoreBase, chunks, guarded, hit_view_of, item_of, marks, req_dt, to_dt, ts
from monitor.store.retention import evidence_of_hit


class QueriesMixin(StoreBase):
    """The read queries of :class:`monitor.store.Store`."""

    def _state_rows(self, where: str = "", args: Sequence[Any] = ()) -> dict[str, dict[str, Any]]:
        cur = self._conn.execute(f"SELECT * FROM source_state {where}", args)
        names = [d[0] for d in cur.description]
        return {row[0]: dict(zip(names, row)) for row in cur}

    @staticmethod
    def _status(name: str, state: dict[str, Any] | None, seen: int) -> SourceStatus:
        if state is None:
            return SourceStatus(name=name, last_poll=None, last_ok=None, consecutive_failures=0,
                                last_error=None, items_seen=seen, last_item_id=None, had_items=seen > 0,
                                health_alerted=False)
        return SourceStatus(name=name, last_poll=to_dt(state["last_poll"]), last_ok=to_dt(state["last_ok"]),
                            consecutive_failures=state["consecutive_failures"] or 0,
                            last_error=state["last_error"], items_seen=seen,
                            last_item_id=state["last_item_id"], had_items=bool(state["had_items"]),
                            health_alerted=bool(state["health_alerted"]))

    @guarded("source status")
    def source_status(self, source: str) -> SourceStatus | None:
        """The state of one source, or None when it was never polled and holds no items."""
        state = self._state_rows("WHERE source = ?", (source,)).get(source)
        seen = self._conn.execute("SELECT count(*) FROM items WHERE source = ?", (source,)).fetchone()[0]
        if state is None and not seen:
            return None
        return self._status(source, state, seen)

    @guarded("source status")
    def source_statuses(self, names: Sequence[str]) -> dict[str, SourceStatus | None]:
        """:meth:`source_status` of each name, in one read (a poll of every source starts with it)."""
        out: dict[str, SourceStatus | None] = {}
        for part in chunks(list(dict.fromkeys(names))):
            where = f"WHERE source IN ({marks(len(part))})"
            states = self._state_rows(where, part)
            seen = dict(self._conn.execute(f"SELECT source, count(*) FROM items {where} GROUP BY source",
                                           part).fetchall())
            for name in part:
                state, count = states.get(name), seen.get(name, 0)
                out[name] = None if state is None and not count else self._status(name, state, count)
        return out

    @guarded("status")
    def all_status(self, names: Sequence[str] | None = None) -> list[SourceStatus]:
        """Every source with state; with ``names``, those first (in that order, empty state if none)."""
        states = self._state_rows()
        seen = dict(self._conn.execute("SELECT source, count(*) FROM items GROUP BY source").fetchall())
        order = list(dict.fromkeys(names or ()))
        listed = set(order)
        order += sorted(n for n in states if n not in listed)
        return [self._status(n, states.get(n), seen.get(n, 0)) for n in order]

    @guarded("hits")
    def hits(self, since: datetime | None = None, watch: str | None = None,
             limit: int | None = None, *, watches: Sequence[str] | None = None) -> list[HitView]:
        """Stored hits, newest first; ``since`` filters on the hit's first_seen, ``watch`` on one
        entry, ``watches`` on any of several."""
        sql = f"SELECT {HIT_COLUMNS} FROM hits h JOIN items i ON i.id = h.item_pk WHERE 1"
        args: list[Any] = []
        if since is not None:
            sql += " AND h.first_seen >= ?"
            args.append(ts(since))
        if watch is not None:
            sql += " AND h.watch = ?"
            args.append(watch)
        if watches is not None:
            # one JSON parameter, not one "?" a name: a chat may receive 100,000 watch-file entries
            sql += " AND h.watch IN (SELECT value FROM json_each(?))"
            args.append(json.dumps(list(dict.fromkeys(watches)), ensure_ascii=False))
        sql += " ORDER BY h.first_seen DESC, h.id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(max(0, limit))
        return [hit_view_of(row) for row in self._conn.execute(sql, args)]

    @guarded("search")
    def search(self, query: str, limit: int = 50, *, order: str = "rank",
               watches: Sequence[str] | None = None) -> list[tuple[Item, datetime]]:
        """Full-text search (FTS5) over titles and texts: (item, first_seen) pairs.

        ``watches``: only posts with a hit of one of these entries (None: every stored post).
        ``order`` is "rank" (bm25, best first) or "recent" (newest first). The query uses FTS5
        syntax ("a b", "a OR b", "phrase", prefix*); a query FTS5 rejects (an unbalanced quote,
        a bare AND, "-") is retried as plain quoted words, and never raises a syntax error.
        """
        if order not in ("rank", "recent"):
            raise StoreError(f'search: order must be "rank" or "recent", not {order!r}')
        query = query.replace("\x00", " ")
        order_by = "first_seen DESC, rowid DESC" if order == "recent" else None
        columns = ["source", "item_id", "url", "title", "text", "author", "date", "first_seen"]
        table = self.db.table("items")
        where, where_args = None, None
        if watches is not None:
            where = "rowid IN (SELECT item_pk FROM hits WHERE watch IN (SELECT value FROM json_each(:watches)))"
            where_args = {"watches": json.dumps(list(dict.fromkeys(watches)), ensure_ascii=False)}
        for quote in (False, True):
            if quote and not self.db.quote_fts(query).strip():
                return []
            try:
                rows = list(table.search(query, order_by=order_by, columns=columns,
                                         limit=max(0, limit), quote=quote, where=where, where_args=where_args))
            except sqlite3.OperationalError as exc:
                if not self._fts_query_error(exc):
                    raise
                if quote:           # even quoted words were refused: nothing can match
                    return []
                continue
            return [(item_of([r[c] for c in columns[:7]]), req_dt(r["first_seen"])) for r in rows]
        return []

    @staticmethod
    def _fts_query_error(exc: sqlite3.OperationalError) -> bool:
        text = str(exc)
        return (text.startswith(("fts5:", "no such column")) or "syntax error" in text
                or "unknown special query" in text or "unterminated string" in text)

    @guarded("polls")
    def polls(self, source: str, limit: int = 20) -> list[PollRecord]:
        """The last polls of a source, newest first."""
        cur = self._conn.execute(
            "SELECT source, started, duration, ok, error, items FROM polls WHERE source = ? "
            "ORDER BY started DESC, id DESC LIMIT ?", (source, max(0, limit)))
        return [PollRecord(source=s, started=req_dt(st), duration=d or 0.0, ok=bool(ok), error=e, items=n or 0)
                for s, st, d, ok, e, n in cur]

    @guarded("evidence")
    def evidence(self, hit_id: int) -> list[PageRecord] | None:
        """The raw pages kept for a hit's item (listing first); None when there is no such hit."""
        return evidence_of_hit(self._conn, hit_id)

    @guarded("integrity check")
    def integrity_check(self) -> str:
        """"ok", or SQLite's list of problems (the FTS index is checked against its table too)."""
        problems = [row[0] for row in self._conn.execute("PRAGMA integrity_check")]
        try:
            with self._write() as conn:
                conn.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")
        except sqlite3.DatabaseError as exc:
            problems = [p for p in problems if p != "ok"] + [f"items_fts: {exc}"]
        return "\n".join(problems)
