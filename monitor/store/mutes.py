"""Mutes: while (chat, watch) is muted, that entry's alerts for that chat are held (state "muted");
when the mute ends (its time passes, seen by ``due_outbox``, or ``unmute``) they become pending."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from monitor.records import Mute
from monitor.routing import caught_by_mute
from monitor.store.base import StoreBase, guarded, req_dt, ts

log = logging.getLogger("monitor.store")


class MutesMixin(StoreBase):
    """The mutes part of :class:`monitor.store.Store`."""

    @guarded("mute")
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
                         (chat, watch, ts(until), ts(now)))
            watches_of: dict[int, set[str]] = {}
            for rid, hit_watch in conn.execute(
                    "SELECT o.id, h.watch FROM outbox o, json_each(o.hit_ids) j JOIN hits h ON h.id = j.value "
                    "WHERE o.state = 'pending' AND o.chat = ? AND o.kind IN ('alert', 'repost')", (chat,)):
                watches_of.setdefault(rid, set()).add(hit_watch)
            caught = caught_by_mute(watches_of, watch)
            conn.executemany("UPDATE outbox SET state = 'muted', payload = json_set(payload, '$.muted_watch', ?) "
                             "WHERE id = ? AND state = 'pending'", [(watch, rid) for rid in caught])
        return Mute(chat=chat, watch=watch, until=until, created=now), len(caught)

    @guarded("unmute")
    def unmute(self, chat: str, watch: str) -> int | None:
        """End a mute now: its held rows become pending. Returns how many, None when not muted."""
        now = self._now()
        with self._write() as conn:
            gone = conn.execute("DELETE FROM mutes WHERE chat = ? AND watch = ? AND until > ?",
                                (chat, watch, ts(now))).rowcount
            released = self._release(chat, watch, ts(now))
        return released if gone else None

    def _release(self, chat: str, watch: str, now: str) -> int:
        return self._conn.execute(
            "UPDATE outbox SET state = 'pending', next_attempt = ? WHERE state = 'muted' AND chat = ? "
            "AND json_extract(payload, '$.muted_watch') = ?", (now, chat, watch)).rowcount

    def _release_mutes(self, now: datetime) -> None:
        """End the mutes whose time has passed (inside a guarded call)."""
        expired = self._conn.execute("SELECT chat, watch FROM mutes WHERE until <= ?", (ts(now),)).fetchall()
        if not expired:
            return
        with self._write() as conn:
            for chat, watch in expired:
                conn.execute("DELETE FROM mutes WHERE chat = ? AND watch = ? AND until <= ?", (chat, watch, ts(now)))
                released = self._release(chat, watch, ts(now))
                log.info("mute of %r in chat %r ended: %d held alerts released", watch, chat, released)

    @guarded("mutes")
    def mutes(self, chat: str | None = None) -> list[Mute]:
        """The mutes in force (of one chat, or all), soonest end first."""
        sql = "SELECT chat, watch, until, created FROM mutes WHERE until > ?"
        args: list[Any] = [ts(self._now())]
        if chat is not None:
            sql += " AND chat = ?"
            args.append(chat)
        return [Mute(chat=c, watch=w, until=req_dt(u), created=req_dt(cr))
                for c, w, u, cr in self._conn.execute(sql + " ORDER BY until, watch", args)]
