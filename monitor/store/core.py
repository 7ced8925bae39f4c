"""The Store: one SQLite file, one writer connection, its parts (mixins) put together."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from monitor.errors import StoreError
from monitor.store.base import utc_now
from monitor.store.ingest import IngestMixin
from monitor.store.meta import MetaMixin
from monitor.store.outbox import OutboxMixin
from monitor.store.queries import QueriesMixin
from monitor.store.retention import RetentionMixin
from monitor.store.schema import BUSY_TIMEOUT_MS, is_current, prepare, upgrade

if TYPE_CHECKING:
    import sqlite_utils


class Store(IngestMixin, OutboxMixin, QueriesMixin, MetaMixin, RetentionMixin):
    """One SQLite file. Synchronous; see AsyncStore for use from the event loop.

    ``clock`` gives "now" for first_seen and outbox creation times (tests inject it). Every public
    method raises :class:`StoreError` (never a sqlite3 error). Calls are serialized by a lock, so
    one Store may be shared by threads; AsyncStore uses it from a single worker thread.
    """

    def __init__(self, path: str | os.PathLike[str], *, clock: Callable[[], datetime] | None = None,
                 read_only: bool = False) -> None:
        self.path = os.fspath(path)
        self._clock = clock or utc_now
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
                                         timeout=BUSY_TIMEOUT_MS / 1000)
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

    def _setup(self) -> None:
        conn = self._conn
        app_id = prepare(conn, self.path)
        if self._read_only and is_current(conn, app_id):
            # A WAL reader never waits for a writer; query_only makes sure nothing here writes.
            conn.execute("PRAGMA query_only = ON")
            return
        with self._write():
            # read again under the lock: another process may have created the schema meanwhile
            if not is_current(conn, conn.execute("PRAGMA application_id").fetchone()[0]):
                upgrade(conn, self.db, self.path)

    @cached_property
    def db(self) -> sqlite_utils.Database:  # type: ignore[override]
        """sqlite-utils over the connection, made when first needed (schema creation, search):
        importing it costs ~0.1 s that a poll does not need to pay."""
        import sqlite_utils

        return sqlite_utils.Database(self._conn, execute_plugins=False)

    def close(self) -> None:
        """Close the connection (idempotent). Later calls raise StoreError."""
        with self._lock:
            if not self._closed:
                self._closed = True
                try:
                    self._conn.close()
                except sqlite3.Error as exc:
                    raise StoreError(f"close: {exc}") from exc

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
