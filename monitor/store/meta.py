"""Small stored values: the ``meta`` table (e.g. the digest of the last config, HTTP validators)
and the watch-list fingerprints kept in it ("watch-print:<entry name>")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from monitor.store.base import StoreBase, chunks, guarded, marks, ts

_PRINT_PREFIX, _PRINT_END = "watch-print:", "watch-print;"   # meta keys of watch fingerprints (";" follows ":")
_PRINTS_RECORDED = "watch-prints-recorded"


class MetaMixin(StoreBase):
    """The ``meta`` part of :class:`monitor.store.Store`."""

    @guarded("get meta")
    def get_meta(self, key: str) -> str | None:
        """A stored value (e.g. the digest of the last config), None when unset."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        value: str | None = None if row is None else row[0]
        return value

    @guarded("get meta")
    def get_metas(self, keys: Sequence[str]) -> dict[str, str]:
        """The stored values of these keys (unset ones are left out), in one read."""
        found: dict[str, str] = {}
        for part in chunks(list(dict.fromkeys(keys))):
            found.update(self._conn.execute(f"SELECT key, value FROM meta WHERE key IN ({marks(len(part))})",
                                            part).fetchall())
        return found

    @guarded("set meta")
    def set_meta(self, key: str, value: str | None) -> None:
        """Set a value; None deletes the key."""
        with self._write() as conn:
            if value is None:
                conn.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                             "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    @guarded("watch prints")
    def differing_prints(self, prints: Mapping[str, str]) -> dict[str, str] | None:
        """Those of ``prints`` (name -> fingerprint) whose entry has another fingerprint recorded,
        or none; None when fingerprints were never recorded. The recorded ones are read row by
        row: 100,000 of them are never all in memory."""
        if self._conn.execute("SELECT 1 FROM meta WHERE key = ?", (_PRINTS_RECORDED,)).fetchone() is None:
            return None
        differing = dict(prints)
        start = len(_PRINT_PREFIX)
        for key, value in self._conn.execute("SELECT key, value FROM meta WHERE key >= ? AND key < ?",
                                             (_PRINT_PREFIX, _PRINT_END)):
            name = key[start:]
            if differing.get(name) == value:
                del differing[name]
        return differing

    @guarded("record watch prints")
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
                             ((_PRINT_PREFIX + name, value) for name, value in prints.items()))
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                         (_PRINTS_RECORDED, ts(self._now())))
