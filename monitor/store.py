"""SQLite storage: with its helper ``store_privacy.py``, the only code that writes SQL.

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
                  end_pos, retro, first_seen, false_positive, repost_of (v2); UNIQUE(item_pk, watch)
    outbox        id, chat, kind (alert|repost|health|text), item_pk, hit_ids (JSON), payload (JSON),
                  state (pending|muted|sent|parked), created, attempts, next_attempt, last_error,
                  sent_at, message_id, sent_batch, claim_owner (v3), claim_until (v3)
    send_slots (v3) chat, at: when a message went (or was cleared to go) to a chat, by any process
    mutes (v2)    chat, watch, until, created; PRIMARY KEY(chat, watch)
    source_state  source, last_poll, last_ok, consecutive_failures, last_error, failing_since,
                  health_alerted, had_items, last_item_id
    polls         id, source, started, duration, ok, error, items, new_items, hits
    meta          key, value (also the watch-list fingerprints: "watch-print:<entry name>")
    (v4)          items.triage, items.erased, hits.snippet, evidence: see monitor.store_privacy

Reposts (v2): a new hit whose item's title is near-identical (:func:`near_identical`) to the
title of an earlier hit of the SAME watch entry first seen in the last :data:`REPOST_WINDOW_DAYS`
days joins that hit's group (``repost_of`` = the group's first hit) and queues a short "repost"
row instead of a full alert; :meth:`Store.due_outbox` holds a repost row while the first alert is
still pending or muted in that chat, then hands it out with ``reply_to`` = that alert's message id.

Mutes (v2): while (chat, watch) is muted, new alert rows of that entry for that chat are written
in state ``muted`` (one row per watch entry, ``payload.muted_watch``); when the mute ends (its
time passes, seen by ``due_outbox``, or ``unmute``) they become pending and go out, marked as held.

Send claims (v3): a process sends an outbox row only after :meth:`Store.claim_send` gave it the row
(owner + lease, taken in the write transaction that checks the row and the rate limits), so two
processes on one database never send the same row; a claim whose lease ran out, or whose owner
process on this machine is gone, can be taken by another sender. The same transaction reads and
writes ``send_slots``, so the per-chat and overall rate limits hold across processes.

Timestamps are stored as fixed-width ISO 8601 UTC strings (``2024-11-20T10:00:00.000000Z``), so
they sort as text; datetimes in and out of the API are timezone-aware UTC (a naive datetime given
to the store is taken as UTC).

:class:`AsyncStore` exposes the same methods as coroutines, all run in ONE worker thread.
"""

from __future__ import annotations

import asyncio
import difflib
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
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, ParamSpec, TypeVar

import sqlite_utils

from monitor.config import WatchEntry
from monitor.errors import StoreError
from monitor.evidence import PageRecord
from monitor.records import (Hit, HitView, Item, Mute, OutboxRow, OutboxStats, PollRecord, SaveResult, SendClaim,
                             SourceStatus, is_cut_of)
from monitor.normalize import match_form
from monitor.privacy import masked_snippet
from monitor.sendclaims import claim_live
from monitor.store_privacy import PruneResult, evidence_of_hit, migrate_privacy, save_evidence, scrub
from monitor.store_privacy import prune as prune_rows
from monitor.triage import Triage, assess

log = logging.getLogger(__name__)

SCHEMA_VERSION = 4
APPLICATION_ID = 0x4C4B4D4E          # "LKMN": marks the file as a leakmon database
_TABLES = ("items", "hits", "outbox", "source_state", "polls", "meta", "mutes")
REPOST_WINDOW_DAYS = 14              # a near-identical title within this many days is a repost
REPOST_RATIO = 0.9                   # difflib ratio of the folded titles, at least
REPOST_MIN_TITLE = 16                # folded titles shorter than this, or of fewer than
REPOST_MIN_WORDS = 3                 # this many words, never group ("Mediboard leak" is too generic)
_REPOST_CANDIDATES = 1000            # newest hits of the entry compared, at most
_NUMBER = re.compile(r"\d+")
_CHUNK = 500                         # keys per "IN (...)" query, well under SQLite's variable limit
_BUSY_TIMEOUT_MS = 10_000
_PRINT_PREFIX, _PRINT_END = "watch-print:", "watch-print;"   # meta keys of watch fingerprints (";" follows ":")
_PRINTS_RECORDED = "watch-prints-recorded"
_TELEGRAM_ID = re.compile(r"^[A-Za-z0-9_]{1,64}/(\d{1,19})$")

P = ParamSpec("P")
R = TypeVar("R")


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
                "h.first_seen, h.false_positive, h.repost_of, " + _ITEM_COLUMNS + ", h.snippet, i.triage")


def _item(row: Sequence[Any]) -> Item:
    source, item_id, url, title, text, author, date = row
    return Item(source=source, item_id=item_id, url=url or "", title=title or "", text=text,
                author=author, date=_dt(date))


def _hit_view(row: Sequence[Any]) -> HitView:
    (hid, watch, kind, severity, terms, fld, start, end, retro, first_seen, fp, repost_of) = row[:12]
    return HitView(id=hid, watch=watch, kind=kind, severity=severity, terms=tuple(json.loads(terms)),
                   field=fld, start=start, end=end, retro=bool(retro), first_seen=_req_dt(first_seen),
                   item=_item(row[12:19]), false_positive=bool(fp), repost_of=repost_of,
                   snippet=row[19], triage=Triage.from_json(row[20]))


# ---------------------------------------------------------------- repost grouping

def title_key(title: str | None) -> str:
    """A title as repost grouping compares it: folded (case, accents, punctuation), digits kept."""
    return match_form(title or "")


def _long_enough(key: str) -> bool:
    return len(key) >= REPOST_MIN_TITLE and key.count(" ") + 1 >= REPOST_MIN_WORDS


def near_identical(a: str, b: str) -> bool:
    """Whether two :func:`title_key` forms name the same post.

    Both at least :data:`REPOST_MIN_TITLE` characters and :data:`REPOST_MIN_WORDS` words, difflib
    ratio at least :data:`REPOST_RATIO`, and the numbers of one are a subset of the other's:
    "dump part 1" and "dump part 2" are two posts, "758k patients" and "758k patients 2024" one.
    """
    if not _long_enough(a) or not _long_enough(b):
        return False
    if a == b:
        return True
    na, nb = set(_NUMBER.findall(a)), set(_NUMBER.findall(b))
    if not (na <= nb or nb <= na):
        return False
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    # the two quick upper bounds reject most candidates without the quadratic ratio()
    return (matcher.real_quick_ratio() >= REPOST_RATIO and matcher.quick_ratio() >= REPOST_RATIO
            and matcher.ratio() >= REPOST_RATIO)


# ---------------------------------------------------------------- the store

class Store:
    """One SQLite file. Synchronous; see AsyncStore for use from the event loop.

    ``clock`` gives "now" for first_seen and outbox creation times (tests inject it). Every public
    method raises :class:`StoreError` (never a sqlite3 error). Calls are serialized by a lock, so
    one Store may be shared by threads; AsyncStore uses it from a single worker thread.
    """

    def __init__(self, path: str | os.PathLike[str], *, clock: Callable[[], datetime] | None = None,
                 read_only: bool = False) -> None:
        self.path = os.fspath(path)
        self._clock = clock or _utc_now
        # read_only: for commands that only read (status, hits, search, export). When the schema
        # is current the open takes no write lock, so a long write by the daemon does not stall it.
        self._read_only = read_only
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
            if isinstance(exc, sqlite3.OperationalError) and ("unable to open" in str(exc) or "locked" in str(exc)):
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
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")   # must run outside a transaction
        conn.execute("PRAGMA synchronous = NORMAL")     # durable against process crash in WAL (see above)
        conn.execute("PRAGMA foreign_keys = ON")
        # Erased text is overwritten with zeros, not just unlinked: a copy of the file made after
        # pruning holds no trace of it (see monitor.store_privacy).
        conn.execute("PRAGMA secure_delete = ON")
        self.db = sqlite_utils.Database(conn, execute_plugins=False)
        if self._read_only and app_id == APPLICATION_ID and \
                conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            # A WAL reader never waits for a writer; query_only makes sure nothing here writes.
            conn.execute("PRAGMA query_only = ON")
            return
        with self._write():
            # read again under the lock: another process may have created the schema meanwhile
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
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
                version = 1
            elif app_id != APPLICATION_ID:
                raise StoreError(f"{self.path} is not a leakmon database: "
                                 f"schema version {version} without the leakmon application id")
            if version < 2:
                self._migrate_2()
            if version < 3:
                self._migrate_3()
            if version < 4:
                migrate_privacy(conn)

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
        self._conn.execute("PRAGMA user_version = 1")

    def _migrate_2(self) -> None:
        """Schema 1 -> 2 (in the opening transaction): repost groups, mutes, outbox by item."""
        conn = self._conn
        conn.execute("ALTER TABLE hits ADD COLUMN repost_of INTEGER")
        conn.execute("CREATE TABLE mutes (chat TEXT NOT NULL, watch TEXT NOT NULL, until TEXT NOT NULL, "
                     "created TEXT NOT NULL, PRIMARY KEY (chat, watch))")
        conn.execute("CREATE INDEX idx_outbox_item_pk ON outbox (item_pk)")
        conn.execute("CREATE INDEX idx_outbox_state_chat ON outbox (state, chat)")
        conn.execute("PRAGMA user_version = 2")

    def _migrate_3(self) -> None:
        """Schema 2 -> 3 (in the opening transaction): send claims and the shared send log."""
        conn = self._conn
        conn.execute("ALTER TABLE outbox ADD COLUMN claim_owner TEXT")
        conn.execute("ALTER TABLE outbox ADD COLUMN claim_until TEXT")
        conn.execute("CREATE TABLE send_slots (chat TEXT NOT NULL, at TEXT NOT NULL)")
        conn.execute("CREATE INDEX idx_send_slots_at ON send_slots (at)")
        conn.execute("CREATE INDEX idx_send_slots_chat_at ON send_slots (chat, at)")
        conn.execute("PRAGMA user_version = 3")

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

    def _lookup(self, source: str, ids: Sequence[str]) -> dict[str, tuple[int, str | None, str | None, bool]]:
        """item_id -> (pk, title, text, text erased by retention) for the stored ones among ``ids``."""
        found: dict[str, tuple[int, str | None, str | None, bool]] = {}
        for part in _chunks(list(dict.fromkeys(ids))):
            cur = self._conn.execute(
                f"SELECT item_id, id, title, text, erased IS NOT NULL FROM items "
                f"WHERE source = ? AND item_id IN ({_marks(len(part))})", (source, *part))
            for item_id, pk, title, text, erased in cur:
                found[item_id] = (pk, title, text, bool(erased))
        return found

    @_guarded("known ids")
    def known_ids(self, source: str, ids: Sequence[str]) -> set[str]:
        """Which of these item ids are stored for this source."""
        return set(self._lookup(source, ids))

    @staticmethod
    def _changed(item: Item, title: str | None, text: str | None, erased: bool = False) -> bool:
        # text None = "unknown this poll": only the title can tell a change.
        # A listing that cuts long titles ("Orang…") does not undo the whole title of the item page.
        # A text erased by retention is not a change either (the listing still showing the post
        # must not store it again).
        same_title = item.title == (title or "") or is_cut_of(item.title, title)
        return not same_title or (item.text is not None and not erased and item.text != text)

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
            elif self._changed(item, known[1], known[2], known[3]):
                out.append(item if item.text is not None else replace(item, text=known[2]))
        return out

    @_guarded("save poll")
    def save_poll(self, poll: PollRecord, items: Sequence[Item], hits: Mapping[str, Sequence[Hit]],
                  watches: Mapping[str, WatchEntry], *, failure_threshold: int,
                  health_chats: Sequence[str], evidence: Mapping[str, Sequence[PageRecord]] | None = None
                  ) -> SaveResult:
        """Store everything one poll learned in ONE transaction (see the module docstring).

        New items are inserted, changed ones updated (text None keeps the stored text); ``hits``
        (item_id -> hits) become hit rows when the item did not match that watch entry before,
        and each item's new hits make one alert outbox row per chat. The poll log, the source
        state and, on a health transition, one health row per health chat go in with them.
        ``health_event`` reports the transition even when ``health_chats`` is empty. ``evidence``
        (item_id -> the pages fetched for it) is kept for the items that hit, in the same transaction.
        """
        for item in items:
            if item.source != poll.source:
                raise StoreError(f"save poll: item {item.item_id!r} belongs to source {item.source!r}, "
                                 f"not {poll.source!r}")
        now = _ts(self._now())
        unique = list({it.item_id: it for it in reversed(items)}.values())[::-1]   # first occurrence wins
        # The triage of a post that hits costs up to ~0.5 s on a long sample: done before the write lock.
        ready = {it.item_id: assess(it.title, it.text) for it in unique if it.item_id in hits and it.text is not None}
        with self._write() as conn:
            stored = self._lookup(poll.source, [it.item_id for it in unique])
            new_rows = []
            changed_rows = []
            for it in unique:
                known = stored.get(it.item_id)
                if known is None:
                    new_rows.append((poll.source, it.item_id, it.url, it.title, it.text, it.author,
                                     _opt_ts(it.date), now, now))
                elif self._changed(it, known[1], known[2], known[3]):
                    title = known[1] if is_cut_of(it.title, known[1]) else it.title
                    changed_rows.append((it.url, title, None if known[3] else it.text, it.author, _opt_ts(it.date),
                                         now, known[0]))
            # One executemany per kind of row, no per-item commit: ~15 us/item, so a poll of a large listing stays cheap.
            conn.executemany(
                "INSERT OR IGNORE INTO items (source, item_id, url, title, text, author, date, first_seen, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", new_rows)
            conn.executemany(
                "UPDATE items SET url = ?, title = ?, text = coalesce(?, text), author = coalesce(?, author), "
                "date = coalesce(?, date), updated = ?, triage = NULL WHERE id = ?", changed_rows)
            pks = {k: v[0] for k, v in self._lookup(poll.source, [*(it.item_id for it in unique), *hits]).items()}
            conn.executemany("UPDATE items SET triage = ? WHERE id = ? AND triage IS NULL",
                             [(triage.to_json(), pks[i]) for i, triage in ready.items() if i in pks])
            pairs = []
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
        return SaveResult(new_items=len(new_rows), changed_items=len(changed_rows), new_hits=new_hits,
                          alerts=alerts, health_event=health_event)

    def _insert_hits(self, pairs: Sequence[tuple[int, Hit]], watches: Mapping[str, WatchEntry], *,
                     retro: bool, now: str) -> tuple[int, int]:
        """Insert the hits an item did not have (by (item, watch)); queue one alert row per
        (item, chat) naming that item's new hits for the chat. A hit that reposts an earlier one
        (see the module docstring) gets a "repost" row instead, and a hit of a muted (chat, watch)
        a row held in state "muted". Returns (new hits, outbox rows)."""
        conn = self._conn
        item_pks = list(dict.fromkeys(pk for pk, _ in pairs))
        existing: set[tuple[int, str]] = set()
        for part in _chunks(item_pks):
            existing.update(conn.execute(
                f"SELECT item_pk, watch FROM hits WHERE item_pk IN ({_marks(len(part))})", part).fetchall())
        muted = set(conn.execute("SELECT chat, watch FROM mutes WHERE until > ?", (now,)).fetchall()) \
            if pairs else set()
        titles: dict[int, str] = {}
        triages: dict[int, tuple[Triage, str, str]] = {}
        # (item pk, chat, first hit of the group or None, muted watch or None) -> hit ids
        routes: dict[tuple[int, str, int | None, str | None], list[int]] = {}
        group_items: dict[int, int] = {}           # first hit -> its item pk
        new_hits = 0
        for pk, hit in pairs:
            if (pk, hit.watch) in existing:
                continue
            existing.add((pk, hit.watch))
            watch = watches.get(hit.watch)
            if watch is None:
                log.warning("hit for watch entry %r that is not configured: stored, not alerted", hit.watch)
            if pk not in titles:
                row = conn.execute("SELECT title FROM items WHERE id = ?", (pk,)).fetchone()
                titles[pk] = title_key(row[0] if row else "")
            if pk not in triages:
                triages[pk] = self._triage(pk)
            triage, title, text = triages[pk]
            severity = triage.severity(watch.severity if watch else "medium")
            snippet = masked_snippet(text if hit.field == "text" else title, hit.start, hit.end, hit.terms)
            first = self._repost_of(pk, hit.watch, titles[pk], now)
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
            for chat in dict.fromkeys(watch.chats if watch else ()):
                key = (pk, chat, first[0] if first else None, hit.watch if (chat, hit.watch) in muted else None)
                routes.setdefault(key, []).append(cur.lastrowid)  # type: ignore[arg-type]
        rows = []
        for (pk, chat, first_hit, muted_watch), ids in routes.items():
            payload: dict[str, object] = {"retro": True} if retro else {}
            if first_hit is not None:
                payload.update(first_hit=first_hit, first_item_pk=group_items[first_hit])
            if muted_watch is not None:
                payload["muted_watch"] = muted_watch
            rows.append((chat, "alert" if first_hit is None else "repost", pk, json.dumps(ids), _dumps(payload),
                         "pending" if muted_watch is None else "muted", now, 0, now))
        conn.executemany(
            "INSERT INTO outbox (chat, kind, item_pk, hit_ids, payload, state, created, attempts, next_attempt) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return new_hits, len(rows)

    def _triage(self, pk: int) -> tuple[Triage, str, str]:
        """(triage, title, text) of an item about to get a hit: the stored triage, or computed now
        and stored (once per item; a changed text clears it), so alert, hits and exports agree."""
        row = self._conn.execute("SELECT title, text, triage FROM items WHERE id = ?", (pk,)).fetchone()
        title, text, stored = (row[0] or "", row[1] or "", row[2]) if row else ("", "", None)
        triage = Triage.from_json(stored)
        if triage is None:
            triage = assess(title, text)
            self._conn.execute("UPDATE items SET triage = ? WHERE id = ?", (triage.to_json(), pk))
        return triage, title, text

    def _repost_of(self, pk: int, watch: str, key: str, now: str) -> tuple[int, int] | None:
        """(first hit, its item pk) of the group an item's new hit for ``watch`` joins, or None.

        Candidates: the newest hits of the same watch entry first seen in the repost window, on
        other items (another source, or the same source under another id).
        """
        if not _long_enough(key):
            return None
        since = _ts(_req_dt(now) - timedelta(days=REPOST_WINDOW_DAYS))
        cur = self._conn.execute(
            "SELECT h.id, h.repost_of, h.item_pk, i.title FROM hits h JOIN items i ON i.id = h.item_pk "
            "WHERE h.watch = ? AND h.first_seen >= ? AND h.item_pk != ? ORDER BY h.first_seen DESC, h.id DESC "
            "LIMIT ?", (watch, since, pk, _REPOST_CANDIDATES))
        best: tuple[int, int] | None = None
        for hid, repost_of, item_pk, title in cur.fetchall():
            if near_identical(key, title_key(title)):
                first = repost_of if repost_of is not None else hid
                if best is None or first < best[0]:
                    best = (first, item_pk if repost_of is None else -1)
        if best is not None and best[1] == -1:
            row = self._conn.execute("SELECT item_pk FROM hits WHERE id = ?", (best[0],)).fetchone()
            if row is None:
                return None
            best = (best[0], row[0])
        return best

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
        """Pending rows whose next attempt is due, oldest first, alerts with their hits and items.

        Mutes whose time has passed are ended first (their held rows become due). A repost row
        waits while its group's first alert is pending or muted in the same chat; it comes with
        ``reply_to`` (that alert's message id, None when there is none to reply to) and its payload
        completed with ``first_source``, ``first_title``, ``first_seen`` of the group's first hit.
        """
        self._release_mutes(now)
        rows = self._conn.execute(
            "SELECT o.id, o.chat, o.kind, o.created, o.attempts, o.hit_ids, o.payload, o.claim_owner, "
            "o.claim_until FROM outbox o "
            "WHERE o.state = 'pending' AND o.next_attempt <= ? AND (o.kind != 'repost' OR NOT EXISTS ("
            "  SELECT 1 FROM outbox a WHERE a.item_pk = json_extract(o.payload, '$.first_item_pk') "
            "  AND a.chat = o.chat AND a.kind = 'alert' AND a.state IN ('pending', 'muted'))) "
            "ORDER BY o.created, o.id LIMIT ?",
            (_ts(now), max(0, limit))).fetchall()
        # rows another sender is sending right now are not handed out (see claim_send)
        rows = [row[:7] for row in rows if not claim_live(row[7], row[8], _ts(now))]
        hit_lists = {row[0]: json.loads(row[5] or "[]") for row in rows}
        payloads = {row[0]: json.loads(row[6] or "{}") for row in rows}
        firsts = [p["first_hit"] for rid, p in payloads.items() if isinstance(p.get("first_hit"), int)]
        views = self._hit_views([*(h for ids in hit_lists.values() for h in ids), *firsts])
        out = []
        for rid, chat, kind, created, attempts, _, _ in rows:
            payload = payloads[rid]
            reply_to = None
            if kind == "repost":
                first = views.get(payload.get("first_hit"))  # type: ignore[arg-type]
                if first is not None:
                    payload.update(first_source=first.item.source, first_title=first.item.title,
                                   first_seen=_ts(first.first_seen))
                reply_to = self._first_message(chat, payload.get("first_item_pk"), payload.get("first_hit"))
            out.append(OutboxRow(id=rid, chat=chat, kind=kind, created=_req_dt(created), attempts=attempts,
                                 hits=tuple(views[h] for h in hit_lists[rid] if h in views),
                                 payload=payload, reply_to=reply_to))
        return out

    def _first_message(self, chat: str, item_pk: object, first_hit: object) -> int | None:
        """The message id of the alert that announced a group's first hit in ``chat``."""
        if not isinstance(item_pk, int):
            return None
        row = self._conn.execute(
            "SELECT message_id FROM outbox WHERE item_pk = ? AND chat = ? AND kind = 'alert' AND state = 'sent' "
            "AND message_id IS NOT NULL "
            "ORDER BY EXISTS (SELECT 1 FROM json_each(outbox.hit_ids) WHERE value = ?) DESC, id LIMIT 1",
            (item_pk, chat, first_hit)).fetchone()
        return None if row is None else int(row[0])

    @_guarded("claim send")
    def claim_send(self, row_ids: Sequence[int], owner: str, chat: str, now: datetime, *, lease: float,
                   pause_key: str | None = None,
                   ready: Callable[[list[datetime], list[datetime]], datetime] | None = None) -> SendClaim:
        """Take the rows of one message for ``owner`` until ``now + lease``, in ONE write transaction
        that first checks them and the shared rate limits; granted means: send now.

        Not granted, with no time, when a row is no longer pending and due, or another live sender
        holds it. Not granted until a time when meta ``pause_key`` holds a pause (epoch seconds)
        not yet over, or when ``ready(send times of everyone in the last second, of this chat in
        the last minute)`` says later than ``now``; granted, the send is logged in ``send_slots``.
        ``ready`` None (the console) means no rate limit.
        """
        ids = list(dict.fromkeys(row_ids))
        stamp = _ts(now)
        with self._write() as conn:
            rows = conn.execute(f"SELECT state, next_attempt, claim_owner, claim_until FROM outbox "
                                f"WHERE id IN ({_marks(len(ids))})", ids).fetchall() if ids else []
            if len(rows) != len(ids) or any(
                    state != "pending" or next_attempt > stamp
                    or (until is not None and claimant != owner and claim_live(claimant, until, stamp))
                    for state, next_attempt, claimant, until in rows):
                return SendClaim(False)
            if pause_key is not None:
                row = conn.execute("SELECT value FROM meta WHERE key = ?", (pause_key,)).fetchone()
                try:
                    pause = float(row[0]) if row and row[0] else 0.0
                except ValueError:
                    pause = 0.0
                if pause > now.timestamp():
                    return SendClaim(False, datetime.fromtimestamp(pause, timezone.utc), paused=True)
            if ready is not None:
                everyone = [_req_dt(at) for (at,) in conn.execute(
                    "SELECT at FROM send_slots WHERE at > ? ORDER BY at", (_ts(now - timedelta(seconds=1)),))]
                mine = [_req_dt(at) for (at,) in conn.execute(
                    "SELECT at FROM send_slots WHERE chat = ? AND at > ? ORDER BY at",
                    (chat, _ts(now - timedelta(seconds=60))))]
                when = ready(everyone, mine)
                if when > now:
                    return SendClaim(False, when)
                conn.execute("INSERT INTO send_slots (chat, at) VALUES (?, ?)", (chat, stamp))
                conn.execute("DELETE FROM send_slots WHERE at < ?", (_ts(now - timedelta(minutes=5)),))
            conn.executemany("UPDATE outbox SET claim_owner = ?, claim_until = ? WHERE id = ?",
                             [(owner, _ts(now + timedelta(seconds=lease)), i) for i in ids])
        return SendClaim(True)

    @_guarded("mark sent")
    def mark_sent(self, row_ids: Sequence[int], message_id: int | None, now: datetime) -> None:
        """Rows went out as ONE message (a digest may carry several rows): sent_times counts it once."""
        ids = list(dict.fromkeys(row_ids))
        if not ids:
            return
        batch = min(ids)
        with self._write() as conn:
            conn.executemany("UPDATE outbox SET state = 'sent', sent_at = ?, message_id = ?, sent_batch = ?, "
                             "last_error = NULL, claim_owner = NULL, claim_until = NULL WHERE id = ?",
                             [(_ts(now), message_id, batch, i) for i in ids])

    @_guarded("mark retry")
    def mark_retry(self, row_ids: Sequence[int], error: str, next_attempt: datetime) -> None:
        """A failed attempt: stays pending until ``next_attempt``; attempts += 1."""
        with self._write() as conn:
            conn.executemany("UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ?, "
                             "claim_owner = NULL, claim_until = NULL WHERE id = ? AND state = 'pending'",
                             [(error, _ts(next_attempt), i) for i in dict.fromkeys(row_ids)])

    @_guarded("mark parked")
    def mark_parked(self, row_ids: Sequence[int], error: str) -> None:
        """A permanent refusal (e.g. chat not found): never retried, counted in outbox_stats."""
        with self._write() as conn:
            conn.executemany("UPDATE outbox SET state = 'parked', attempts = attempts + 1, last_error = ?, "
                             "claim_owner = NULL, claim_until = NULL WHERE id = ? AND state = 'pending'",
                             [(error, i) for i in dict.fromkeys(row_ids)])

    @_guarded("outbox stats")
    def outbox_stats(self, now: datetime, chat: str | None = None) -> OutboxStats:
        """Pending rows, the age of the oldest pending one (seconds), parked rows, rows held by a mute;
        of one chat's messages when ``chat`` is given."""
        only, args = ("", ()) if chat is None else (" AND chat = ?", (chat,))
        pending, oldest = self._conn.execute(
            "SELECT count(*), min(created) FROM outbox WHERE state = 'pending'" + only, args).fetchone()
        parked = self._conn.execute("SELECT count(*) FROM outbox WHERE state = 'parked'" + only, args).fetchone()[0]
        muted = self._conn.execute("SELECT count(*) FROM outbox WHERE state = 'muted'" + only, args).fetchone()[0]
        age = None if oldest is None else max(0.0, (now - _req_dt(oldest)).total_seconds())
        return OutboxStats(pending=pending, oldest_pending_age_s=age, parked=parked, muted=muted)

    # ------------------------------------------------------------ mutes and triage

    @_guarded("mute")
    def mute(self, chat: str, watch: str, seconds: float) -> tuple[Mute, int]:
        """Hold ``watch``'s alerts in ``chat`` for ``seconds`` from now (a new mute replaces the old).

        Pending alert and repost rows of that chat that name only this entry are held too.
        Returns the mute and how many pending rows it caught.
        """
        now = self._now()
        until = now + timedelta(seconds=max(0.0, seconds))
        with self._write() as conn:
            conn.execute("INSERT INTO mutes (chat, watch, until, created) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (chat, watch) DO UPDATE SET until = excluded.until, created = excluded.created",
                         (chat, watch, _ts(until), _ts(now)))
            watches_of: dict[int, set[str]] = {}
            for rid, hit_watch in conn.execute(
                    "SELECT o.id, h.watch FROM outbox o, json_each(o.hit_ids) j JOIN hits h ON h.id = j.value "
                    "WHERE o.state = 'pending' AND o.chat = ? AND o.kind IN ('alert', 'repost')", (chat,)):
                watches_of.setdefault(rid, set()).add(hit_watch)
            caught = [rid for rid, names in watches_of.items() if names == {watch}]
            conn.executemany("UPDATE outbox SET state = 'muted', payload = json_set(payload, '$.muted_watch', ?) "
                             "WHERE id = ? AND state = 'pending'", [(watch, rid) for rid in caught])
        return Mute(chat=chat, watch=watch, until=until, created=now), len(caught)

    @_guarded("unmute")
    def unmute(self, chat: str, watch: str) -> int | None:
        """End a mute now: its held rows become pending. Returns how many, None when not muted."""
        now = self._now()
        with self._write() as conn:
            gone = conn.execute("DELETE FROM mutes WHERE chat = ? AND watch = ? AND until > ?",
                                (chat, watch, _ts(now))).rowcount
            released = self._release(chat, watch, _ts(now))
        return released if gone else None

    def _release(self, chat: str, watch: str, now: str) -> int:
        return self._conn.execute(
            "UPDATE outbox SET state = 'pending', next_attempt = ? WHERE state = 'muted' AND chat = ? "
            "AND json_extract(payload, '$.muted_watch') = ?", (now, chat, watch)).rowcount

    def _release_mutes(self, now: datetime) -> None:
        """End the mutes whose time has passed (inside a guarded call)."""
        expired = self._conn.execute("SELECT chat, watch FROM mutes WHERE until <= ?", (_ts(now),)).fetchall()
        if not expired:
            return
        with self._write() as conn:
            for chat, watch in expired:
                conn.execute("DELETE FROM mutes WHERE chat = ? AND watch = ? AND until <= ?", (chat, watch, _ts(now)))
                released = self._release(chat, watch, _ts(now))
                log.info("mute of %r in chat %r ended: %d held alerts released", watch, chat, released)

    @_guarded("mutes")
    def mutes(self, chat: str | None = None) -> list[Mute]:
        """The mutes in force (of one chat, or all), soonest end first."""
        sql = "SELECT chat, watch, until, created FROM mutes WHERE until > ?"
        args: list[Any] = [_ts(self._now())]
        if chat is not None:
            sql += " AND chat = ?"
            args.append(chat)
        return [Mute(chat=c, watch=w, until=_req_dt(u), created=_req_dt(cr))
                for c, w, u, cr in self._conn.execute(sql + " ORDER BY until, watch", args)]

    @_guarded("alerted hit")
    def alerted_hit(self, hit_id: int, chat: str) -> HitView | None:
        """The hit, when a message to ``chat`` named it (a button may only act on its own chat's hits)."""
        found = self._conn.execute(
            "SELECT 1 FROM hits h JOIN outbox o ON o.item_pk = h.item_pk AND o.chat = ? "
            "WHERE h.id = ? AND EXISTS (SELECT 1 FROM json_each(o.hit_ids) WHERE value = h.id) LIMIT 1",
            (chat, hit_id)).fetchone()
        return self._hit_views([hit_id]).get(hit_id) if found else None

    @_guarded("mark false positive")
    def mark_false_positive(self, row_id: int, chat: str) -> list[HitView]:
        """Record the hits of outbox row ``row_id`` (an alert or repost sent to ``chat``) as false
        positives. Returns them; empty when the row is not that chat's."""
        row = self._conn.execute("SELECT hit_ids FROM outbox WHERE id = ? AND chat = ? AND kind IN ('alert', 'repost')",
                                 (row_id, chat)).fetchone()
        ids = [int(i) for i in json.loads(row[0] or "[]")] if row else []
        if not ids:
            return []
        with self._write() as conn:
            conn.executemany("UPDATE hits SET false_positive = 1 WHERE id = ?", [(i,) for i in ids])
        views = self._hit_views(ids)
        return [views[i] for i in ids if i in views]

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

    # ------------------------------------------------------------ watch-list fingerprints

    @_guarded("watch prints")
    def watch_prints(self) -> dict[str, str] | None:
        """name -> fingerprint of each watch entry as last recorded; None when never recorded."""
        if self._conn.execute("SELECT 1 FROM meta WHERE key = ?", (_PRINTS_RECORDED,)).fetchone() is None:
            return None
        rows = self._conn.execute("SELECT key, value FROM meta WHERE key >= ? AND key < ?",
                                  (_PRINT_PREFIX, _PRINT_END)).fetchall()
        return {key[len(_PRINT_PREFIX):]: value for key, value in rows}

    @_guarded("record watch prints")
    def record_watch_prints(self, prints: Mapping[str, str], keep: Iterable[str]) -> None:
        """Record these fingerprints and forget those of entries not in ``keep`` (the config's names)."""
        names = set(keep)
        with self._write() as conn:
            stale = [key for (key,) in conn.execute("SELECT key FROM meta WHERE key >= ? AND key < ?",
                                                    (_PRINT_PREFIX, _PRINT_END))
                     if key[len(_PRINT_PREFIX):] not in names]
            conn.executemany("DELETE FROM meta WHERE key = ?", [(key,) for key in stale])
            conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?) "
                             "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                             [(_PRINT_PREFIX + name, value) for name, value in prints.items()])
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                         (_PRINTS_RECORDED, _ts(self._now())))

    # ------------------------------------------------------------ queries (CLI)

    @_guarded("hits")
    def hits(self, since: datetime | None = None, watch: str | None = None,
             limit: int | None = None, *, watches: Sequence[str] | None = None) -> list[HitView]:
        """Stored hits, newest first; ``since`` filters on the hit's first_seen, ``watch`` on one
        entry, ``watches`` on any of several."""
        sql = f"SELECT {_HIT_COLUMNS} FROM hits h JOIN items i ON i.id = h.item_pk WHERE 1"
        args: list[Any] = []
        if since is not None:
            sql += " AND h.first_seen >= ?"
            args.append(_ts(since))
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
        return [_hit_view(row) for row in self._conn.execute(sql, args)]

    @_guarded("search")
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
        table = self.db["items"]
        where, where_args = None, None
        if watches is not None:
            where = "rowid IN (SELECT item_pk FROM hits WHERE watch IN (SELECT value FROM json_each(:watches)))"
            where_args = {"watches": json.dumps(list(dict.fromkeys(watches)), ensure_ascii=False)}
        for quote in (False, True):
            if quote and not self.db.quote_fts(query).strip():
                return []
            try:
                rows = list(table.search(query, order_by=order_by, columns=columns,   # type: ignore[union-attr]
                                         limit=max(0, limit), quote=quote, where=where, where_args=where_args))
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
    def prune(self, now: datetime, *, keep_text: float, keep_evidence: float) -> PruneResult:
        """Apply the retention rules (durations in seconds): erase the text of posts first seen
        longer than ``keep_text`` ago (FTS rows and bytes too; titles, URLs, hits, snippets and
        triage stay), delete evidence older than ``keep_evidence``, and poll log rows and sent
        outbox rows older than ``keep_text``. See monitor.store_privacy for how the bytes go."""
        text_cutoff = _ts(now - timedelta(seconds=keep_text))
        evidence_cutoff = _ts(now - timedelta(seconds=keep_evidence))
        with self._write() as conn:
            result = prune_rows(conn, text_cutoff, evidence_cutoff, _ts(now))
        return replace(result, vacuumed=scrub(self._conn, result))

    @_guarded("evidence")
    def evidence(self, hit_id: int) -> list[PageRecord] | None:
        """The raw pages kept for a hit's item (listing first); None when there is no such hit."""
        return evidence_of_hit(self._conn, hit_id)

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
    "integrity_check", "evidence", "mute", "unmute", "mutes", "alerted_hit", "mark_false_positive",
    "watch_prints", "record_watch_prints", "claim_send",
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
