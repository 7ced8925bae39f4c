"""The schema: creating it, checking that a file is a leakmon database, migrating older ones.

Runs inside the opening ``BEGIN IMMEDIATE``, so two processes opening one new file cannot race
(the switch to WAL, which must run outside a transaction, is retried: see :func:`_use_wal`).
"""

from __future__ import annotations

import sqlite3
import time
from typing import TYPE_CHECKING

from monitor.errors import StoreError
from monitor.store.retention import migrate_privacy

if TYPE_CHECKING:
    import sqlite_utils

SCHEMA_VERSION = 5
APPLICATION_ID = 0x4C4B4D4E          # "LKMN": marks the file as a leakmon database
BUSY_TIMEOUT_MS = 10_000


def prepare(conn: sqlite3.Connection, path: str) -> int:
    """Connection settings, after checking the file is SQLite and not another application's.
    Returns the file's application id."""
    # The first read of the header: a file that is not SQLite fails here ("file is not a database").
    app_id: int = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id not in (0, APPLICATION_ID):
        raise StoreError(f"{path} is not a leakmon database: "
                         f"it belongs to another application (application_id {app_id:#x})")
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    _use_wal(conn)
    conn.execute("PRAGMA synchronous = NORMAL")     # durable against process crash in WAL (see the package doc)
    conn.execute("PRAGMA foreign_keys = ON")
    # Erased text is overwritten with zeros, not just unlinked: a copy of the file made after
    # pruning holds no trace of it (see monitor.store.retention).
    conn.execute("PRAGMA secure_delete = ON")
    return app_id


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL (outside a transaction), trying again until the busy timeout.

    The switch needs the file to itself for an instant, and SQLite skips the busy handler when
    waiting could deadlock: another process switching the same new file at the same moment, or
    holding its write lock, makes it fail at once with "database is locked" (two commands started
    together on a new database: one of them failed)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) \
                    or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(2 * pause, 0.1)


def is_current(conn: sqlite3.Connection, app_id: int) -> bool:
    """Whether the file already holds this version's schema (a reader then needs no write lock)."""
    return app_id == APPLICATION_ID and conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def upgrade(conn: sqlite3.Connection, db: sqlite_utils.Database, path: str) -> None:
    """Create or migrate the schema (inside the caller's write transaction)."""
    # read again under the lock: another process may have created the schema meanwhile
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path} was written by a newer leakmon (schema {version}; "
                         f"this version knows up to {SCHEMA_VERSION})")
    if version == 0:
        foreign = [t for t in db.table_names() if not t.startswith("sqlite_")]
        if foreign:
            raise StoreError(f"{path} is not a leakmon database: it already holds the tables "
                             f"{', '.join(sorted(foreign)[:5])} and no leakmon schema")
        create_schema(conn, db)
        version = 1
    elif app_id != APPLICATION_ID:
        raise StoreError(f"{path} is not a leakmon database: "
                         f"schema version {version} without the leakmon application id")
    if version < 2:
        migrate_2(conn)
    if version < 3:
        migrate_3(conn)
    if version < 4:
        migrate_privacy(conn)
    if version < 5:
        migrate_5(conn)


def create_schema(conn: sqlite3.Connection, db: sqlite_utils.Database) -> None:
    """Schema version 1."""
    db.table("items").create({
        "id": int, "source": str, "item_id": str, "url": str, "title": str, "text": str,
        "author": str, "date": str, "first_seen": str, "updated": str,
    }, pk="id", not_null={"source", "item_id", "first_seen"})
    db.table("items").create_index(["source", "item_id"], unique=True)
    db.table("items").create_index(["first_seen"])
    # External-content FTS5 over title + text, kept in step by sqlite-utils' triggers.
    db.table("items").enable_fts(["title", "text"], fts_version="FTS5", create_triggers=True,
                           tokenize="unicode61 remove_diacritics 2")
    db.table("hits").create({
        "id": int, "item_pk": int, "watch": str, "kind": str, "severity": str, "terms": str,
        "field": str, "start_pos": int, "end_pos": int, "retro": int, "first_seen": str,
        "false_positive": int,
    }, pk="id", not_null={"item_pk", "watch", "first_seen"},
        defaults={"retro": 0, "false_positive": 0, "terms": "[]"},
        foreign_keys=[("item_pk", "items", "id")])
    db.table("hits").create_index(["item_pk", "watch"], unique=True)
    db.table("hits").create_index(["first_seen"])
    db.table("hits").create_index(["watch", "first_seen"])
    db.table("outbox").create({
        "id": int, "chat": str, "kind": str, "item_pk": int, "hit_ids": str, "payload": str,
        "state": str, "created": str, "attempts": int, "next_attempt": str, "last_error": str,
        "sent_at": str, "message_id": int, "sent_batch": int,
    }, pk="id", not_null={"chat", "kind", "state", "created", "next_attempt"},
        defaults={"attempts": 0, "hit_ids": "[]", "payload": "{}", "state": "pending"},
        foreign_keys=[("item_pk", "items", "id")])
    db.table("outbox").create_index(["state", "next_attempt"])
    db.table("outbox").create_index(["state", "sent_at"])
    db.table("source_state").create({
        "source": str, "last_poll": str, "last_ok": str, "consecutive_failures": int,
        "last_error": str, "failing_since": str, "health_alerted": int, "had_items": int,
        "last_item_id": str,
    }, pk="source", defaults={"consecutive_failures": 0, "health_alerted": 0, "had_items": 0})
    db.table("polls").create({
        "id": int, "source": str, "started": str, "duration": float, "ok": int, "error": str,
        "items": int, "new_items": int, "hits": int,
    }, pk="id", not_null={"source", "started"})
    db.table("polls").create_index(["source", "started"])
    db.table("polls").create_index(["started"])
    db.table("meta").create({"key": str, "value": str}, pk="key")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")


def migrate_2(conn: sqlite3.Connection) -> None:
    """Schema 1 -> 2: repost groups, mutes, outbox by item."""
    conn.execute("ALTER TABLE hits ADD COLUMN repost_of INTEGER")
    conn.execute("CREATE TABLE mutes (chat TEXT NOT NULL, watch TEXT NOT NULL, until TEXT NOT NULL, "
                 "created TEXT NOT NULL, PRIMARY KEY (chat, watch))")
    conn.execute("CREATE INDEX idx_outbox_item_pk ON outbox (item_pk)")
    conn.execute("CREATE INDEX idx_outbox_state_chat ON outbox (state, chat)")
    conn.execute("PRAGMA user_version = 2")


def migrate_3(conn: sqlite3.Connection) -> None:
    """Schema 2 -> 3: send claims and the shared send log."""
    conn.execute("ALTER TABLE outbox ADD COLUMN claim_owner TEXT")
    conn.execute("ALTER TABLE outbox ADD COLUMN claim_until TEXT")
    conn.execute("CREATE TABLE send_slots (chat TEXT NOT NULL, at TEXT NOT NULL)")
    conn.execute("CREATE INDEX idx_send_slots_at ON send_slots (at)")
    conn.execute("CREATE INDEX idx_send_slots_chat_at ON send_slots (chat, at)")
    conn.execute("PRAGMA user_version = 3")


def migrate_5(conn: sqlite3.Connection) -> None:
    """Schema 4 -> 5: the full-text index is kept in step on updates of the title or the text only.

    The trigger sqlite-utils writes runs on every UPDATE of an item: storing a post's triage, its
    erasure mark or its poll time re-indexed the title and the text each time (~9 times the cost
    of the update itself).
    """
    conn.execute('DROP TRIGGER IF EXISTS "items_au"')
    conn.execute(
        'CREATE TRIGGER "items_au" AFTER UPDATE OF "title", "text" ON "items" BEGIN\n'
        '  INSERT INTO "items_fts" ("items_fts", rowid, "title", "text") '
        'VALUES(\'delete\', old.rowid, old."title", old."text");\n'
        '  INSERT INTO "items_fts" (rowid, "title", "text") VALUES (new.rowid, new."title", new."text");\n'
        'END')
    conn.execute("PRAGMA user_version = 5")
