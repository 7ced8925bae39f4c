"""The outbox queue: messages waiting to go out, their send claims (owner + lease), the shared send
log (``send_slots``) the rate limits read, and what became of each message."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.records import HitView, OutboxRow, OutboxStats, SendClaim
from monitor.sendclaims import claim_live, claimable, pause_until
from monitor.store.base import guarded, marks, req_dt, ts
from monitor.store.mutes import MutesMixin


class OutboxMixin(MutesMixin):
    """The outbox part of :class:`monitor.store.Store` (a mute holds outbox rows: see MutesMixin)."""

    @guarded("enqueue")
    def enqueue_text(self, chats: Sequence[str], payload: Mapping[str, object], kind: str = "text") -> None:
        """Queue one message per chat (a health or text message; ``payload`` must be JSON-able)."""
        with self._write():
            self._enqueue(chats, kind, payload, ts(self._now()))

    @guarded("due outbox")
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
            (ts(now), max(0, limit))).fetchall()
        # rows another sender is sending right now are not handed out (see claim_send)
        rows = [row[:7] for row in rows if not claim_live(row[7], row[8], ts(now))]
        hit_lists = {row[0]: json.loads(row[5] or "[]") for row in rows}
        payloads = {row[0]: json.loads(row[6] or "{}") for row in rows}
        firsts = [p["first_hit"] for rid, p in payloads.items() if isinstance(p.get("first_hit"), int)]
        views = self._hit_views([*(h for ids in hit_lists.values() for h in ids), *firsts])
        out = []
        for rid, chat, kind, created, attempts, _, _ in rows:
            payload = payloads[rid]
            reply_to = None
            if kind == "repost":
                first = views.get(payload.get("first_hit"))
                if first is not None:
                    payload.update(first_source=first.item.source, first_title=first.item.title,
                                   first_seen=ts(first.first_seen))
                reply_to = self._first_message(chat, payload.get("first_item_pk"), payload.get("first_hit"))
            out.append(OutboxRow(id=rid, chat=chat, kind=kind, created=req_dt(created), attempts=attempts,
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

    @guarded("claim send")
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
        stamp = ts(now)
        with self._write() as conn:
            rows = conn.execute(f"SELECT state, next_attempt, claim_owner, claim_until FROM outbox "
                                f"WHERE id IN ({marks(len(ids))})", ids).fetchall() if ids else []
            if len(rows) != len(ids) or not claimable(rows, owner, stamp):
                return SendClaim(False)
            if pause_key is not None:
                row = conn.execute("SELECT value FROM meta WHERE key = ?", (pause_key,)).fetchone()
                pause = pause_until(row[0] if row else None)
                if pause > now.timestamp():
                    return SendClaim(False, datetime.fromtimestamp(pause, UTC), paused=True)
            if ready is not None:
                everyone = [req_dt(at) for (at,) in conn.execute(
                    "SELECT at FROM send_slots WHERE at > ? ORDER BY at", (ts(now - timedelta(seconds=1)),))]
                mine = [req_dt(at) for (at,) in conn.execute(
                    "SELECT at FROM send_slots WHERE chat = ? AND at > ? ORDER BY at",
                    (chat, ts(now - timedelta(seconds=60))))]
                when = ready(everyone, mine)
                if when > now:
                    return SendClaim(False, when)
                conn.execute("INSERT INTO send_slots (chat, at) VALUES (?, ?)", (chat, stamp))
                conn.execute("DELETE FROM send_slots WHERE at < ?", (ts(now - timedelta(minutes=5)),))
            conn.executemany("UPDATE outbox SET claim_owner = ?, claim_until = ? WHERE id = ?",
                             [(owner, ts(now + timedelta(seconds=lease)), i) for i in ids])
        return SendClaim(True)

    @guarded("mark sent")
    def mark_sent(self, row_ids: Sequence[int], message_id: int | None, now: datetime) -> None:
        """Rows went out as ONE message (a digest may carry several rows): sent_times counts it once."""
        ids = list(dict.fromkeys(row_ids))
        if not ids:
            return
        batch = min(ids)
        with self._write() as conn:
            conn.executemany("UPDATE outbox SET state = 'sent', sent_at = ?, message_id = ?, sent_batch = ?, "
                             "last_error = NULL, claim_owner = NULL, claim_until = NULL WHERE id = ?",
                             [(ts(now), message_id, batch, i) for i in ids])

    @guarded("mark retry")
    def mark_retry(self, row_ids: Sequence[int], error: str, next_attempt: datetime) -> None:
        """A failed attempt: stays pending until ``next_attempt``; attempts += 1."""
        with self._write() as conn:
            conn.executemany("UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ?, "
                             "claim_owner = NULL, claim_until = NULL WHERE id = ? AND state = 'pending'",
                             [(error, ts(next_attempt), i) for i in dict.fromkeys(row_ids)])

    @guarded("mark parked")
    def mark_parked(self, row_ids: Sequence[int], error: str) -> None:
        """A permanent refusal (e.g. chat not found): never retried, counted in outbox_stats."""
        with self._write() as conn:
            conn.executemany("UPDATE outbox SET state = 'parked', attempts = attempts + 1, last_error = ?, "
                             "claim_owner = NULL, claim_until = NULL WHERE id = ? AND state = 'pending'",
                             [(error, i) for i in dict.fromkeys(row_ids)])

    @guarded("outbox stats")
    def outbox_stats(self, now: datetime, chat: str | None = None) -> OutboxStats:
        """Pending rows, the age of the oldest pending one (seconds), parked rows, rows held by a mute;
        of one chat's messages when ``chat`` is given."""
        only, args = ("", ()) if chat is None else (" AND chat = ?", (chat,))
        pending, oldest = self._conn.execute(
            "SELECT count(*), min(created) FROM outbox WHERE state = 'pending'" + only, args).fetchone()
        parked = self._conn.execute("SELECT count(*) FROM outbox WHERE state = 'parked'" + only, args).fetchone()[0]
        muted = self._conn.execute("SELECT count(*) FROM outbox WHERE state = 'muted'" + only, args).fetchone()[0]
        age = None if oldest is None else max(0.0, (now - req_dt(oldest)).total_seconds())
        return OutboxStats(pending=pending, oldest_pending_age_s=age, parked=parked, muted=muted)

    @guarded("sent times")
    def sent_times(self, chat: str | None, since: datetime) -> list[datetime]:
        """When messages went out since ``since`` (one per message; all chats when ``chat`` is None),
        oldest first, so rate limits hold across restarts."""
        sql = "SELECT min(sent_at) FROM outbox WHERE state = 'sent' AND sent_at >= ?"
        args: list[Any] = [ts(since)]
        if chat is not None:
            sql += " AND chat = ?"
            args.append(chat)
        sql += " GROUP BY chat, sent_batch ORDER BY 1"
        return [req_dt(row[0]) for row in self._conn.execute(sql, args)]

    @guarded("alerted hit")
    def alerted_hit(self, hit_id: int, chat: str) -> HitView | None:
        """The hit, when a message to ``chat`` named it (a button may only act on its own chat's hits)."""
        found = self._conn.execute(
            "SELECT 1 FROM hits h JOIN outbox o ON o.item_pk = h.item_pk AND o.chat = ? "
            "WHERE h.id = ? AND EXISTS (SELECT 1 FROM json_each(o.hit_ids) WHERE value = h.id) LIMIT 1",
            (chat, hit_id)).fetchone()
        return self._hit_views([hit_id]).get(hit_id) if found else None

    @guarded("mark false positive")
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
