"""SQLite storage: the only module that writes SQL.

One file, one writer connection. Every write is one ``BEGIN IMMEDIATE`` transaction, so a poll's
items, hits, alert outbox rows, poll log row, source state and health rows are committed together
or not at all: nothing can be sent for an item the store does not hold, and nothing a poll learned
is lost once it is committed.

Durability: the database runs in WAL mode with ``synchronous=NORMAL``. WAL+NORMAL is durable
against a crash of the PROCESS (``kill -9``, an exception, OOM): a committed transaction is in the
WAL file, which the OS keeps, and the next open replays it. It is not durable against power loss or
an OS crash (the last transactions before the cut may be lost, the file stays consistent); FULL
would fsync every commit (~10x slower per poll) for a risk a monitor can live with.

Schema (``PRAGMA user_version`` = :data:`SCHEMA_VERSION`, ``PRAGMA application_id`` =
:data:`APPLICATION_ID`)::

    items         id, source, item_id, url, title, text, author, date, first_seen, updated
                  UNIQUE(source, item_id); FTS5 index items_fts(title, text) kept in step by triggers
    hits          id, item_pk -> items, watch, kind, severity, terms (JSON), field, start_pos,
                  end_pos, retro, first_seen, false_positive; UNIQUE(item_pk, watch)
    outbox        id, chat, kind (alert|health|text), item_pk, hit_ids (JSON), payload (JSON),
                  state (pending|sent|parked), created, attempts, next_attempt, last_error,
                  sent_at, message_id, sent_batch
    source_state  source, last_poll, last_ok, consecutive_failures, last_error, failing_since,
                  health_alerted, had_items, last_item_id
    polls         id, source, started, duration, ok, error, items, new_items, hits
    meta          key, value

Timestamps are stored as fixed-width ISO 8601 UTC strings (``2024-11-20T10:00:00.000000Z``), so
they sort as text; datetimes in and out of the API are timezone-aware UTC (a naive datetime given
to the store is taken as UTC).

:class:`AsyncStore` exposes the same methods as coroutines, all run in ONE worker thread.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import re
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, ParamSpec, TypeVar

import sqlite_utils

from monitor.config import WatchEntry
from monitor.errors import StoreError
from monitor.items import Hit, Item

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
APPLICATION_ID = 0x4C4B4D4E          # "LKMN": marks the file as a leakmon database
_TABLES = ("items", "hits", "outbox", "source_state", "polls", "meta")
_CHUNK = 500                         # keys per "IN (...)" query, well under SQLite's variable limit
_BUSY_TIMEOUT_MS = 10_000
_TELEGRAM_ID = re.compile(r"^[A-Za-z0-9_]{1,64}/(\d{1,19})$")

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class PollRecord:
    """One poll of one source, as the pipeline saw it."""

    source: str
    started: datetime            # UTC
    duration: float              # seconds
    ok: bool
    error: str | None = None     # reason in words when not ok
    items: int = 0               # items the source yielded


@dataclass(frozen=True)
class SaveResult:
    new_items: int
    changed_items: int
    new_hits: int
    alerts: int                  # outbox rows written (alerts, not health messages)
    health_event: str | None     # "failing" | "recovered" | None: a health message was queued


@dataclass(frozen=True)
class SourceStatus:
    name: str
    last_poll: datetime | None
    last_ok: datetime | None
    consecutive_failures: int
    last_error: str | None
    items_seen: int              # items stored for this source
    last_item_id: str | None     # newest item id (by the site's order when it has one)
    had_items: bool              # a poll has ever yielded items
    health_alerted: bool         # a "failing" health message went out and no "recovered" since


@dataclass(frozen=True)
class HitView:
    """A stored hit with what an operator or a renderer needs."""

    id: int
    watch: str
    kind: str
    severity: str
    terms: tuple[str, ...]
    field: str
    start: int
    end: int
    retro: bool
    first_seen: datetime
    item: Item
    false_positive: bool = False


@dataclass(frozen=True)
class OutboxRow:
    """One message to send: an alert (item + its new hits for one chat) or a health/text message."""

    id: int
    chat: str                    # chat NAME from [telegram.chats]
    kind: str                    # "alert" | "health" | "text"
    created: datetime
    attempts: int
    hits: tuple[HitView, ...] = ()       # for alerts: the hits this message names (same item)
    payload: Mapping[str, object] = field(default_factory=dict)   # for health/text: structured data


@dataclass(frozen=True)
class OutboxStats:
    pending: int
    oldest_pending_age_s: float | None
    parked: int


# ---------------------------------------------------------------- time and JSON helpers

def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _ts(dt: datetime) -> str:
    """A datetime -> fixed-width ISO 8601 UTC text (sorts like time). Naive means UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _opt_ts(dt: datetime | None) -> str | None:
    return None if dt is None else _ts(dt)


def _dt(text: str | None) -> datetime | None:
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _req_dt(text: str) -> datetime:
    value = _dt(text)
    assert value is not None
    return value


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return _ts(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _dumps(value: object) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False, sort_keys=True)


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _marks(n: int) -> str:
    return ",".join("?" * n)


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


def _guarded(op: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
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


_ITEM_COLUMNS = "i.source, i.item_id, i.url, i.title, i.text, i.author, i.date"
_HIT_COLUMNS = ("h.id, h.watch, h.kind, h.severity, h.terms, h.field, h.start_pos, h.end_pos, h.retro, "
                "h.first_seen, h.false_positive, " + _ITEM_COLUMNS)


def _item(row: Sequence[Any]) -> Item:
    source, item_id, url, title, text, author, date = row
    return Item(source=source, item_id=item_id, url=url or "", title=title or "", text=text,
                author=author, date=_dt(date))


def _hit_view(row: Sequence[Any]) -> HitView:
    (hid, watch, kind, severity, terms, fld, start, end, retro, first_seen, fp) = row[:11]
    return HitView(id=hid, watch=watch, kind=kind, severity=severity, terms=tuple(json.loads(terms)),
                   field=fld, start=start, end=end, retro=bool(retro), first_seen=_req_dt(first_seen),
                   item=_item(row[11:]), false_positive=bool(fp))


# ---------------------------------------------------------------- the store

class Store:
    """One SQLite file. Synchronous; see AsyncStore for use from the event loop.

    ``clock`` gives "now" for first_seen and outbox creation times (tests inject it). Every public
    method raises :class:`StoreError` (never a sqlite3 error). Calls are serialized by a lock, so
    one Store may be shared by threads; AsyncStore uses it from a single worker thread.
    """

    def __init__(self, path: str | os.PathLike[str], *, clock: Callable[[], datetime] | None = None) -> None:
        self.path = os.fspath(path)
        self._clock = clock or _utc_now
        self._lock = threading.RLock()
        self._closed = False
        if self.path != ":memory:":
            parent = os.path.dirname(os.path.abspath(self.path))
            try:
                os.makedirs(parent, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the directory of {self.path}: {exc.strerror or exc}") from exc
        try:
            # isolation_level=None: the driver opens no implicit transaction; we issue
            # BEGIN IMMEDIATE ourselves. check_same_thread=False: AsyncStore's worker thread.
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                         timeout=_BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from exc
        try:
            self._setup()
        except StoreError:
            self._conn.close()
            raise
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            if isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc):
                raise StoreError(f"cannot open {self.path}: {exc}") from exc
            raise StoreError(f"{self.path} is not a leakmon database: {exc}") from exc
        except sqlite3.Error as exc:
            self._conn.close()
            raise StoreError(f"cannot open {self.path}: {exc}") from exc

    # ------------------------------------------------------------ setup

    def _setup(self) -> None:
        conn = self._conn
        # The first read of the header: a file that is not SQLite fails here ("file is not a database").
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id not in (0, APPLICATION_ID):
            raise StoreError(f"{self.path} is not a leakmon database: "
                             f"it belongs to another application (application_id {app_id:#x})")
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")       # must run outside a transaction
        conn.execute("PRAGMA synchronous = NORMAL")     # durable against process crash in WAL (see above)
        conn.execute("PRAGMA foreign_keys = ON")
        self.db = sqlite_utils.Database(conn, execute_plugins=False)
        with self._write():
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path} was written by a newer leakmon (schema {version}; "
                                 f"this version knows up to {SCHEMA_VERSION})")
            if version == 0:
                foreign = [t for t in self.db.table_names() if not t.startswith("sqlite_")]
                if foreign:
                    raise StoreError(f"{self.path} is not a leakmon database: it already holds the tables "
                                     f"{', '.join(sorted(foreign)[:5])} and no leakmon schema")
                self._create_schema()
            elif app_id != APPLICATION_ID:
                raise StoreError(f"{self.path} is not a leakmon database: "
                                 f"schema version {version} without the leakmon application id")

    def _create_schema(self) -> None:
        """Schema version 1. Runs inside the opening BEGIN IMMEDIATE: two processes cannot race."""
        db = self.db
        db["items"].create({
            "id": int, "source": str, "item_id": str, "url": str, "title": str, "text": str,
            "author": str, "date": str, "first_seen": str, "updated": str,
        }, pk="id", not_null={"source", "item_id", "first_seen"})
        db["items"].create_index(["source", "item_id"], unique=True)
        db["items"].create_index(["first_seen"])
        # External-content FTS5 over title + text, kept in step by sqlite-utils' triggers.
        db["items"].enable_fts(["title", "text"], fts_version="FTS5", create_triggers=True,
                               tokenize="unicode61 remove_diacritics 2")
        db["hits"].create({
            "id": int, "item_pk": int, "watch": str, "kind": str, "severity": str, "terms": str,
            "field": str, "start_pos": int, "end_pos": int, "retro": int, "first_seen": str,
            "false_positive": int,
        }, pk="id", not_null={"item_pk", "watch", "first_seen"},
            defaults={"retro": 0, "false_positive": 0, "terms": "[]"},
            foreign_keys=[("item_pk", "items", "id")])
        db["hits"].create_index(["item_pk", "watch"], unique=True)
        db["hits"].create_index(["first_seen"])
        db["hits"].create_index(["watch", "first_seen"])
        db["outbox"].create({
            "id": int, "chat": str, "kind": str, "item_pk": int, "hit_ids": str, "payload": str,
            "state": str, "created": str, "attempts": int, "next_attempt": str, "last_error": str,
            "sent_at": str, "message_id": int, "sent_batch": int,
        }, pk="id", not_null={"chat", "kind", "state", "created", "next_attempt"},
            defaults={"attempts": 0, "hit_ids": "[]", "payload": "{}", "state": "pending"},
            foreign_keys=[("item_pk", "items", "id")])
        db["outbox"].create_index(["state", "next_attempt"])
        db["outbox"].create_index(["state", "sent_at"])
        db["source_state"].create({
            "source": str, "last_poll": str, "last_ok": str, "consecutive_failures": int,
            "last_error": str, "failing_since": str, "health_alerted": int, "had_items": int,
            "last_item_id": str,
        }, pk="source", defaults={"consecutive_failures": 0, "health_alerted": 0, "had_items": 0})
        db["polls"].create({
            "id": int, "source": str, "started": str, "duration": float, "ok": int, "error": str,
            "items": int, "new_items": int, "hits": int,
        }, pk="id", not_null={"source", "started"})
        db["polls"].create_index(["source", "started"])
        db["polls"].create_index(["started"])
        db["meta"].create({"key": str, "value": str}, pk="key")
        self._conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

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

    def close(self) -> None:
        """Close the connection (idempotent). Later calls raise StoreError."""
        with self._lock:
            if not self._closed:
                self._closed = True
                try:
                    self._conn.close()
                except sqlite3.Error as exc:
                    raise StoreError(f"close: {exc}") from exc

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ polling

    def _state_rows(self, where: str = "", args: Sequence[Any] = ()) -> dict[str, dict[str, Any]]:
        cur = self._conn.execute(f"SELECT * FROM source_state {where}", args)
        names = [d[0] for d in cur.description]
        return {row[0]: dict(zip(names, row)) for row in cur}

    def _status(self, name: str, state: dict[str, Any] | None, seen: int) -> SourceStatus:
        if state is None:
            return SourceStatus(name=name, last_poll=None, last_ok=None, consecutive_failures=0,
                                last_error=None, items_seen=seen, last_item_id=None, had_items=seen > 0,
                                health_alerted=False)
        return SourceStatus(name=name, last_poll=_dt(state["last_poll"]), last_ok=_dt(state["last_ok"]),
                            consecutive_failures=state["consecutive_failures"] or 0,
                            last_error=state["last_error"], items_seen=seen,
                            last_item_id=state["last_item_id"], had_items=bool(state["had_items"]),
                            health_alerted=bool(state["health_alerted"]))

    @_guarded("source status")
    def source_status(self, source: str) -> SourceStatus | None:
        """The state of one source, or None when it was never polled and holds no items."""
        state = self._state_rows("WHERE source = ?", (source,)).get(source)
        seen = self._conn.execute("SELECT count(*) FROM items WHERE source = ?", (source,)).fetchone()[0]
        if state is None and not seen:
            return None
        return self._status(source, state, seen)

    @_guarded("status")
    def all_status(self, names: Sequence[str] | None = None) -> list[SourceStatus]:
        """Every source with state; with ``names``, those first (in that order, empty state if none)."""
        states = self._state_rows()
        seen = dict(self._conn.execute("SELECT source, count(*) FROM items GROUP BY source").fetchall())
        order = list(dict.fromkeys(names or ()))
        listed = set(order)
        order += sorted(n for n in states if n not in listed)
        return [self._status(n, states.get(n), seen.get(n, 0)) for n in order]

    def _lookup(self, source: str, ids: Sequence[str]) -> dict[str, tuple[int, str | None, str | None]]:
        """item_id -> (pk, title, text) for the stored ones among ``ids``."""
        found: dict[str, tuple[int, str | None, str | None]] = {}
        for part in _chunks(list(dict.fromkeys(ids))):
            cur = self._conn.execute(
                f"SELECT item_id, id, title, text FROM items WHERE source = ? AND item_id IN ({_marks(len(part))})",
                (source, *part))
            for item_id, pk, title, text in cur:
                found[item_id] = (pk, title, text)
        return found

    @_guarded("known ids")
    def known_ids(self, source: str, ids: Sequence[str]) -> set[str]:
        """Which of these item ids are stored for this source."""
        return set(self._lookup(source, ids))

    @staticmethod
    def _changed(item: Item, title: str | None, text: str | None) -> bool:
        # text None = "unknown this poll": only the title can tell a change.
        return item.title != (title or "") or (item.text is not None and item.text != text)

    @_guarded("to_match")
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
            elif self._changed(item, known[1], known[2]):
                out.append(item if item.text is not None else replace(item, text=known[2]))
        return out

    @_guarded("save poll")
    def save_poll(self, poll: PollRecord, items: Sequence[Item], hits: Mapping[str, Sequence[Hit]],
                  watches: Mapping[str, WatchEntry], *, failure_threshold: int,
                  health_chats: Sequence[str]) -> SaveResult:
        """Store everything one poll learned in ONE transaction (see the module docstring).

        New items are inserted, changed ones updated (text None keeps the stored text); ``hits``
        (item_id -> hits) become hit rows when the item did not match that watch entry before,
        and each item's new hits make one alert outbox row per chat. The poll log, the source
        state and, on a health transition, one health row per health chat go in with them.
        ``health_event`` reports the transition even when ``health_chats`` is empty.
        """
        for item in items:
            if item.source != poll.source:
                raise StoreError(f"save poll: item {item.item_id!r} belongs to source {item.source!r}, "
                                 f"not {poll.source!r}")
        now = _ts(self._now())
        unique = list({it.item_id: it for it in reversed(items)}.values())[::-1]   # first occurrence wins
        with self._write() as conn:
            stored = self._lookup(poll.source, [it.item_id for it in unique])
            new_rows = []
            changed_rows = []
            for it in unique:
                known = stored.get(it.item_id)
                if known is None:
                    new_rows.append((poll.source, it.item_id, it.url, it.title, it.text, it.author,
                                     _opt_ts(it.date), now, now))
                elif self._changed(it, known[1], known[2]):
                    changed_rows.append((it.url, it.title, it.text, it.author, _opt_ts(it.date), now, known[0]))
            # One executemany per kind of row, no per-item commit: ~15 us/item (DESIGN 4).
            conn.executemany(
                "INSERT OR IGNORE INTO items (source, item_id, url, title, text, author, date, first_seen, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", new_rows)
            conn.executemany(
                "UPDATE items SET url = ?, title = ?, text = coalesce(?, text), author = coalesce(?, author), "
                "date = coalesce(?, date), updated = ? WHERE id = ?", changed_rows)
            pks = {k: v[0] for k, v in self._lookup(poll.source, [*(it.item_id for it in unique), *hits]).items()}
            pairs = []
            for item_id, item_hits in hits.items():
                pk = pks.get(item_id)
                if pk is None:
                    log.warning("save poll %s: hits for unknown item %r skipped", poll.source, item_id)
                    continue
                pairs.extend((pk, h) for h in item_hits)
            new_hits, alerts = self._insert_hits(pairs, watches, retro=False, now=now)
            health_event = self._record_poll(poll, unique, len(new_rows), new_hits, now,
                                             failure_threshold=failure_threshold, health_chats=health_chats)
        return SaveResult(new_items=len(new_rows), changed_items=len(changed_rows), new_hits=new_hits,
                          alerts=alerts, health_event=health_event)

    def _insert_hits(self, pairs: Sequence[tuple[int, Hit]], watches: Mapping[str, WatchEntry], *,
                     retro: bool, now: str) -> tuple[int, int]:
        """Insert the hits an item did not have (by (item, watch)); queue one alert row per
        (item, chat) naming that item's new hits for the chat. Returns (new hits, outbox rows)."""
        conn = self._conn
        item_pks = list(dict.fromkeys(pk for pk, _ in pairs))
        existing: set[tuple[int, str]] = set()
        for part in _chunks(item_pks):
            existing.update(conn.execute(
                f"SELECT item_pk, watch FROM hits WHERE item_pk IN ({_marks(len(part))})", part).fetchall())
        routes: dict[int, dict[str, list[int]]] = {}
        new_hits = 0
        for pk, hit in pairs:
            if (pk, hit.watch) in existing:
                continue
            existing.add((pk, hit.watch))
            watch = watches.get(hit.watch)
            if watch is None:
                log.warning("hit for watch entry %r that is not configured: stored, not alerted", hit.watch)
            cur = conn.execute(
                "INSERT OR IGNORE INTO hits (item_pk, watch, kind, severity, terms, field, start_pos, end_pos, "
                "retro, first_seen, false_positive) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                (pk, hit.watch, watch.kind if watch else "other", watch.severity if watch else "medium",
                 json.dumps(list(hit.terms), ensure_ascii=False), hit.field, hit.start, hit.end,
                 int(retro), now))
            if cur.rowcount != 1:
                continue
            new_hits += 1
            chats = routes.setdefault(pk, {})
            for chat in dict.fromkeys(watch.chats if watch else ()):
                chats.setdefault(chat, []).append(cur.lastrowid)  # type: ignore[arg-type]
        payload = _dumps({"retro": True} if retro else {})
        rows = [(chat, "alert", pk, json.dumps(ids), payload, "pending", now, 0, now)
                for pk, chats in routes.items() for chat, ids in chats.items()]
        conn.executemany(
            "INSERT INTO outbox (chat, kind, item_pk, hit_ids, payload, state, created, attempts, next_attempt) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return new_hits, len(rows)

    def _enqueue(self, chats: Iterable[str], kind: str, payload: Mapping[str, object], now: str) -> None:
        rows = [{"chat": chat, "kind": kind, "item_pk": None, "hit_ids": "[]", "payload": _dumps(dict(payload)),
                 "state": "pending", "created": now, "attempts": 0, "next_attempt": now}
                for chat in dict.fromkeys(chats)]
        if rows:
            self.db["outbox"].insert_all(rows)

    def _record_poll(self, poll: PollRecord, items: Sequence[Item], new_items: int, new_hits: int, now: str,
                     *, failure_threshold: int, health_chats: Sequence[str]) -> str | None:
        """Poll log row, source state and health transition (inside the caller's transaction)."""
        started = _ts(poll.started)
        self.db["polls"].insert({"source": poll.source, "started": started, "duration": float(poll.duration),
                                 "ok": int(poll.ok), "error": poll.error, "items": poll.items or len(items),
                                 "new_items": new_items, "hits": new_hits})
        state = self._state_rows("WHERE source = ?", (poll.source,)).get(poll.source) or {}
        failures = state.get("consecutive_failures") or 0
        alerted = bool(state.get("health_alerted"))
        since = state.get("failing_since")
        last_ok = state.get("last_ok")
        last_error = state.get("last_error")
        event: str | None = None
        payload: dict[str, object] = {}
        if poll.ok:
            if alerted:
                event = "recovered"
                payload = {"source": poll.source, "event": event, "failures": failures, "since": since}
            failures, alerted, since, last_ok = 0, False, None, started
        else:
            failures += 1
            since = since or started
            last_error = poll.error or "unknown error"
            if failures >= failure_threshold and not alerted:
                event = "failing"
                alerted = True
                payload = {"source": poll.source, "event": event, "reason": last_error,
                           "failures": failures, "since": since}
        self.db["source_state"].upsert({
            "source": poll.source, "last_poll": started, "last_ok": last_ok,
            "consecutive_failures": failures, "last_error": last_error, "failing_since": since,
            "health_alerted": int(alerted),
            "had_items": int(bool(state.get("had_items")) or bool(items) or poll.items > 0),
            "last_item_id": _last_item_id(state.get("last_item_id"), items),
        }, pk="source")
        if event:
            self._enqueue(health_chats, "health", payload, now)
        return event

    # ------------------------------------------------------------ retro-hunt

    @_guarded("count posts")
    def count_posts(self, since: datetime) -> int:
        """How many items were first seen at or after ``since``."""
        return self._conn.execute("SELECT count(*) FROM items WHERE first_seen >= ?", (_ts(since),)).fetchone()[0]

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
            yield [_item(row[1:]) for row in rows]

    @_guarded("iter posts")
    def _posts_after(self, since: datetime, after_pk: int, batch: int) -> list[tuple[Any, ...]]:
        return self._conn.execute(
            f"SELECT i.id, {_ITEM_COLUMNS} FROM items i WHERE i.first_seen >= ? AND i.id > ? ORDER BY i.id LIMIT ?",
            (_ts(since), after_pk, max(1, batch))).fetchall()

    @_guarded("save retro hits")
    def save_retro_hits(self, hits: Mapping[tuple[str, str], Sequence[Hit]],
                        watches: Mapping[str, WatchEntry]) -> int:
        """Store retro-hunt hits keyed by (source, item_id), marked retro, with their alert rows
        (as in save_poll), in one transaction. Returns how many hits were new."""
        now = _ts(self._now())
        by_source: dict[str, list[str]] = {}
        for source, item_id in hits:
            by_source.setdefault(source, []).append(item_id)
        with self._write():
            pairs = []
            for source, ids in by_source.items():
                pks = self._lookup(source, ids)
                for item_id in ids:
                    if item_id in pks:
                        pairs.extend((pks[item_id][0], h) for h in hits[(source, item_id)])
            new_hits, _ = self._insert_hits(pairs, watches, retro=True, now=now)
        return new_hits

    # ------------------------------------------------------------ outbox

    @_guarded("enqueue")
    def enqueue_text(self, chats: Sequence[str], payload: Mapping[str, object], kind: str = "text") -> None:
        """Queue one message per chat (a health or text message; ``payload`` must be JSON-able)."""
        with self._write():
            self._enqueue(chats, kind, payload, _ts(self._now()))

    def _hit_views(self, hit_ids: Sequence[int]) -> dict[int, HitView]:
        views: dict[int, HitView] = {}
        for part in _chunks(list(dict.fromkeys(hit_ids))):
            cur = self._conn.execute(
                f"SELECT {_HIT_COLUMNS} FROM hits h JOIN items i ON i.id = h.item_pk "
                f"WHERE h.id IN ({_marks(len(part))})", part)
            for row in cur:
                views[row[0]] = _hit_view(row)
        return views

    @_guarded("due outbox")
    def due_outbox(self, now: datetime, limit: int = 200) -> list[OutboxRow]:
        """Pending rows whose next attempt is due, oldest first, alerts with their hits and items."""
        rows = self._conn.execute(
            "SELECT id, chat, kind, created, attempts, hit_ids, payload FROM outbox "
            "WHERE state = 'pending' AND next_attempt <= ? ORDER BY created, id LIMIT ?",
            (_ts(now), max(0, limit))).fetchall()
        hit_lists = {row[0]: json.loads(row[5] or "[]") for row in rows}
        views = self._hit_views([h for ids in hit_lists.values() for h in ids])
        return [OutboxRow(id=rid, chat=chat, kind=kind, created=_req_dt(created), attempts=attempts,
                          hits=tuple(views[h] for h in hit_lists[rid] if h in views),
                          payload=json.loads(payload or "{}"))
                for rid, chat, kind, created, attempts, _, payload in rows]

    @_guarded("mark sent")
    def mark_sent(self, row_ids: Sequence[int], message_id: int | None, now: datetime) -> None:
        """Rows went out as ONE message (a digest may carry several rows): sent_times counts it once."""
        ids = list(dict.fromkeys(row_ids))
        if not ids:
            return
        batch = min(ids)
        with self._write() as conn:
            conn.executemany("UPDATE outbox SET state = 'sent', sent_at = ?, message_id = ?, sent_batch = ?, "
                             "last_error = NULL WHERE id = ?", [(_ts(now), message_id, batch, i) for i in ids])

    @_guarded("mark retry")
    def mark_retry(self, row_ids: Sequence[int], error: str, next_attempt: datetime) -> None:
        """A failed attempt: stays pending until ``next_attempt``; attempts += 1."""
        with self._write() as conn:
            conn.executemany("UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ? "
                             "WHERE id = ? AND state = 'pending'",
                             [(error, _ts(next_attempt), i) for i in dict.fromkeys(row_ids)])

    @_guarded("mark parked")
    def mark_parked(self, row_ids: Sequence[int], error: str) -> None:
        """A permanent refusal (e.g. chat not found): never retried, counted in outbox_stats."""
        with self._write() as conn:
            conn.executemany("UPDATE outbox SET state = 'parked', attempts = attempts + 1, last_error = ? "
                             "WHERE id = ? AND state = 'pending'", [(error, i) for i in dict.fromkeys(row_ids)])

    @_guarded("outbox stats")
    def outbox_stats(self, now: datetime) -> OutboxStats:
        """Pending rows, the age of the oldest pending one (seconds), parked rows."""
        pending, oldest = self._conn.execute(
            "SELECT count(*), min(created) FROM outbox WHERE state = 'pending'").fetchone()
        parked = self._conn.execute("SELECT count(*) FROM outbox WHERE state = 'parked'").fetchone()[0]
        age = None if oldest is None else max(0.0, (now - _req_dt(oldest)).total_seconds())
        return OutboxStats(pending=pending, oldest_pending_age_s=age, parked=parked)

    @_guarded("sent times")
    def sent_times(self, chat: str | None, since: datetime) -> list[datetime]:
        """When messages went out since ``since`` (one per message; all chats when ``chat`` is None),
        oldest first, so rate limits hold across restarts."""
        sql = "SELECT min(sent_at) FROM outbox WHERE state = 'sent' AND sent_at >= ?"
        args: list[Any] = [_ts(since)]
        if chat is not None:
            sql += " AND chat = ?"
            args.append(chat)
        sql += " GROUP BY chat, sent_batch ORDER BY 1"
        return [_req_dt(row[0]) for row in self._conn.execute(sql, args)]

    @_guarded("get meta")
    def get_meta(self, key: str) -> str | None:
        """A stored value (e.g. the digest of the last config), None when unset."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    @_guarded("set meta")
    def set_meta(self, key: str, value: str | None) -> None:
        """Set a value; None deletes the key."""
        with self._write() as conn:
            if value is None:
                conn.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                self.db["meta"].upsert({"key": key, "value": value}, pk="key")

    # ------------------------------------------------------------ queries (CLI)

    @_guarded("hits")
    def hits(self, since: datetime | None = None, watch: str | None = None,
             limit: int | None = None) -> list[HitView]:
        """Stored hits, newest first; ``since`` filters on the hit's first_seen."""
        sql = f"SELECT {_HIT_COLUMNS} FROM hits h JOIN items i ON i.id = h.item_pk WHERE 1"
        args: list[Any] = []
        if since is not None:
            sql += " AND h.first_seen >= ?"
            args.append(_ts(since))
        if watch is not None:
            sql += " AND h.watch = ?"
            args.append(watch)
        sql += " ORDER BY h.first_seen DESC, h.id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(max(0, limit))
        return [_hit_view(row) for row in self._conn.execute(sql, args)]

    @_guarded("search")
    def search(self, query: str, limit: int = 50, *, order: str = "rank") -> list[tuple[Item, datetime]]:
        """Full-text search (FTS5) over titles and texts: (item, first_seen) pairs.

        ``order`` is "rank" (bm25, best first) or "recent" (newest first). The query uses FTS5
        syntax ("a b", "a OR b", "phrase", prefix*); a query FTS5 rejects (an unbalanced quote,
        a bare AND, "-") is retried as plain quoted words, and never raises a syntax error.
        """
        if order not in ("rank", "recent"):
            raise StoreError(f'search: order must be "rank" or "recent", not {order!r}')
        query = query.replace("\x00", " ")
        order_by = "first_seen DESC, rowid DESC" if order == "recent" else None
        columns = ["source", "item_id", "url", "title", "text", "author", "date", "first_seen"]
        table = self.db["items"]
        for quote in (False, True):
            if quote and not self.db.quote_fts(query).strip():
                return []
            try:
                rows = list(table.search(query, order_by=order_by, columns=columns,   # type: ignore[union-attr]
                                         limit=max(0, limit), quote=quote))
            except sqlite3.OperationalError as exc:
                if not self._fts_query_error(exc):
                    raise
                if quote:           # even quoted words were refused: nothing can match
                    return []
                continue
            return [(_item([r[c] for c in columns[:7]]), _req_dt(r["first_seen"])) for r in rows]
        return []

    @staticmethod
    def _fts_query_error(exc: sqlite3.OperationalError) -> bool:
        text = str(exc)
        return (text.startswith("fts5:") or "syntax error" in text or text.startswith("no such column")
                or "unknown special query" in text or "unterminated string" in text)

    @_guarded("polls")
    def polls(self, source: str, limit: int = 20) -> list[PollRecord]:
        """The last polls of a source, newest first."""
        cur = self._conn.execute(
            "SELECT source, started, duration, ok, error, items FROM polls WHERE source = ? "
            "ORDER BY started DESC, id DESC LIMIT ?", (source, max(0, limit)))
        return [PollRecord(source=s, started=_req_dt(st), duration=d or 0.0, ok=bool(ok), error=e, items=n or 0)
                for s, st, d, ok, e, n in cur]

    @_guarded("prune")
    def prune(self, retention_days: int, now: datetime) -> int:
        """Empty the text of items first seen more than ``retention_days`` ago (the FTS index
        follows through its trigger); titles and hits are kept. Poll log rows and sent outbox rows
        older than that go too. Returns how many items were emptied."""
        cutoff = _ts(now - timedelta(days=retention_days))
        with self._write() as conn:
            emptied = conn.execute("UPDATE items SET text = '' WHERE first_seen < ? AND text IS NOT NULL "
                                   "AND text != ''", (cutoff,)).rowcount
            conn.execute("DELETE FROM polls WHERE started < ?", (cutoff,))
            conn.execute("DELETE FROM outbox WHERE state = 'sent' AND sent_at < ?", (cutoff,))
        return emptied

    @_guarded("integrity check")
    def integrity_check(self) -> str:
        """"ok", or SQLite's list of problems (the FTS index is checked against its table too)."""
        problems = [row[0] for row in self._conn.execute("PRAGMA integrity_check")]
        try:
            with self._write() as conn:
                conn.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")
        except sqlite3.DatabaseError as exc:
            problems = [p for p in problems if p != "ok"] + [f"items_fts: {exc}"]
        return "\n".join(problems)


# ---------------------------------------------------------------- asyncio

_ASYNC_METHODS = frozenset({
    "source_status", "all_status", "known_ids", "to_match", "save_poll", "count_posts",
    "save_retro_hits", "enqueue_text", "due_outbox", "mark_sent", "mark_retry", "mark_parked",
    "outbox_stats", "sent_times", "get_meta", "set_meta", "hits", "search", "polls", "prune",
    "integrity_check",
})


class AsyncStore:
    """The Store's methods as coroutines, all run in ONE worker thread so SQL never blocks the
    event loop and the single connection is never used by two threads at once.

    ``await store.save_poll(...)``, ``async for batch in store.iter_posts(since)``,
    ``await store.close()``. ``AsyncStore(path)`` opens the file at once (a short blocking call);
    ``await AsyncStore.open(path)`` opens it in the worker thread.
    """

    def __init__(self, store: Store | str | os.PathLike[str], *,
                 clock: Callable[[], datetime] | None = None) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leakmon-store")
        try:
            self._store = store if isinstance(store, Store) else Store(store, clock=clock)
        except BaseException:
            self._executor.shutdown(wait=False)
            raise

    @classmethod
    async def open(cls, path: str | os.PathLike[str], *,
                   clock: Callable[[], datetime] | None = None) -> "AsyncStore":
        """Open the file in a thread, so a slow disk or a locked file does not stall the loop."""
        store = await asyncio.get_running_loop().run_in_executor(None, functools.partial(Store, path, clock=clock))
        return cls(store)

    @property
    def store(self) -> Store:
        """The synchronous Store underneath (for code that already runs in a thread)."""
        return self._store

    async def _run(self, func: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(func, *args, **kwargs))

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        if name.startswith("_") or name not in _ASYNC_METHODS:
            raise AttributeError(name)
        method = getattr(self._store, name)

        @functools.wraps(method)
        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self._run(method, *args, **kwargs)

        return call

    async def iter_posts(self, since: datetime, batch: int = 500) -> AsyncIterator[list[Item]]:
        """Like Store.iter_posts; each batch is fetched in the worker thread."""
        posts = self._store.iter_posts(since, batch)
        while True:
            chunk = await self._run(next, posts, None)
            if chunk is None:
                return
            yield chunk

    async def close(self) -> None:
        """Close the database in its thread, then stop the thread (idempotent)."""
        try:
            await self._run(self._store.close)
        except RuntimeError:        # the executor is already shut down: closed before
            pass
        finally:
            self._executor.shutdown(wait=True)

    async def __aenter__(self) -> "AsyncStore":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
