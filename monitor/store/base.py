"""What every part of the store shares: the connection and its lock, one write transaction, the
timestamp and JSON helpers, and rows -> records."""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from monitor.errors import StoreError
from monitor.records import HitView, Item

if TYPE_CHECKING:
    import sqlite_utils

CHUNK = 500                          # keys per "IN (...)" query, well under SQLite's variable limit

P = ParamSpec("P")
R = TypeVar("R")


def utc_now() -> datetime:
    return datetime.now(UTC)


def ts(dt: datetime) -> str:
    """A datetime -> fixed-width ISO 8601 UTC text (sorts like time). Naive means UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def opt_ts(dt: datetime | None) -> str | None:
    return None if dt is None else ts(dt)


def to_dt(text: str | None) -> datetime | None:
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def req_dt(text: str) -> datetime:
    value = to_dt(text)
    assert value is not None
    return value


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return ts(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: object) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False, sort_keys=True)


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def marks(n: int) -> str:
    return ",".join("?" * n)


_VARIABLES = 999                     # SQLite's smallest limit of "?" per statement (before 3.32)


def insert_rows(conn: sqlite3.Connection, head: str, rows: Sequence[Sequence[Any]]) -> None:
    """``head`` ("INSERT ... INTO t (a, b)") with many rows per statement (``VALUES (?, ?), (?, ?)``):
    the same rows, in order, as ``executemany``, but one call into SQLite per ~100 rows instead of
    one per row. Each call is one release of the GIL, and a thread writing the store beside a busy
    event loop waits for the GIL after each (40-row listings: ~2.5x faster so, ~2x alone)."""
    if not rows:
        return
    width = len(rows[0])
    per = max(1, _VARIABLES // width)
    one = "(" + marks(width) + ")"
    for part in chunks(rows, per):
        conn.execute(f"{head} VALUES {', '.join([one] * len(part))}", [v for row in part for v in row])


def guarded(op: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Serialize calls on the connection and translate sqlite3 errors into StoreError."""

    def wrap(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            self = args[0]
            with self._lock:  # type: ignore[attr-defined]
                try:
                    return method(*args, **kwargs)
                except sqlite3.Error as exc:
                    raise StoreError(f"{op}: {exc}") from exc

        return call

    return wrap


ITEM_COLUMNS = "i.source, i.item_id, i.url, i.title, i.text, i.author, i.date"
HIT_COLUMNS = ("h.id, h.watch, h.kind, h.severity, h.terms, h.field, h.start_pos, h.end_pos, h.retro, "
               "h.first_seen, h.false_positive, h.repost_of, " + ITEM_COLUMNS + ", h.snippet, i.triage")


def item_of(row: Sequence[Any]) -> Item:
    source, item_id, url, title, text, author, date = row
    return Item(source=source, item_id=item_id, url=url or "", title=title or "", text=text,
                author=author, date=to_dt(date))


def hit_view_of(row: Sequence[Any]) -> HitView:
    from monitor.triage import Triage  # phonenumbers and the ID checkers: not for a poll's writes

    (hid, watch, kind, severity, terms, fld, start, end, retro, first_seen, fp, repost_of) = row[:12]
    return HitView(id=hid, watch=watch, kind=kind, severity=severity, terms=tuple(json.loads(terms)),
                   field=fld, start=start, end=end, retro=bool(retro), first_seen=req_dt(first_seen),
                   item=item_of(row[12:19]), false_positive=bool(fp), repost_of=repost_of,
                   snippet=row[19], triage=Triage.from_json(row[20]))


class StoreBase:
    """The connection, its lock and clock; the parts of the Store (ingest, outbox, mutes, queries,
    retention) are mixins over this."""

    path: str
    db: sqlite_utils.Database
    _conn: sqlite3.Connection
    _lock: threading.RLock
    _clock: Callable[[], datetime]

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction. IMMEDIATE takes the write lock up front: a deferred BEGIN that
        reads and then writes fails at once with "database is locked" whatever the busy timeout."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _now(self) -> datetime:
        return self._clock()

    def _lookup(self, source: str, ids: Sequence[str]) -> dict[str, tuple[int, str | None, str | None, bool]]:
        """item_id -> (pk, title, text, text erased by retention) for the stored ones among ``ids``."""
        found: dict[str, tuple[int, str | None, str | None, bool]] = {}
        for part in chunks(list(dict.fromkeys(ids))):
            cur = self._conn.execute(
                f"SELECT item_id, id, title, text, erased IS NOT NULL FROM items "
                f"WHERE source = ? AND item_id IN ({marks(len(part))})", (source, *part))
            for item_id, pk, title, text, erased in cur:
                found[item_id] = (pk, title, text, bool(erased))
        return found

    def _hit_views(self, hit_ids: Sequence[int]) -> dict[int, HitView]:
        views: dict[int, HitView] = {}
        for part in chunks(list(dict.fromkeys(hit_ids))):
            cur = self._conn.execute(
                f"SELECT {HIT_COLUMNS} FROM hits h JOIN items i ON i.id = h.item_pk "
                f"WHERE h.id IN ({marks(len(part))})", part)
            for row in cur:
                views[row[0]] = hit_view_of(row)
        return views

    def _enqueue(self, chats: Iterable[str], kind: str, payload: Mapping[str, object], now: str) -> None:
        rows = [{"chat": chat, "kind": kind, "item_pk": None, "hit_ids": "[]", "payload": dumps(dict(payload)),
                 "state": "pending", "created": now, "attempts": 0, "next_attempt": now}
                for chat in dict.fromkeys(chats)]
        if rows:
            self.db.table("outbox").insert_all(rows)
