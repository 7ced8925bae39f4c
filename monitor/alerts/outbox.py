"""The dispatcher: drains the outbox to Telegram (or the console) without ever losing a message.

One pass (``deliver_due``) reads the due rows, renders them (``monitor/alerts/compose.py``: a burst of
more than 10 alerts for one chat becomes digest messages), and sends them within Telegram's limits
(``monitor/alerts/pacing.py``), read back from the store so they hold across restarts:
30 messages/s overall, 20/min per group or channel, 1/s per chat. What
happens on each failure:

    DeliveryRateLimited   pause ALL sending until retry_after (stored in meta "telegram_pause_until")
    DeliveryTransient     retry with backoff (5 s doubling, capped at 15 min, jittered); stays pending
    DeliveryUncertain     same (it may have been sent: at-least-once)
    DeliveryBadMarkup     resend once as plain text
    DeliveryChatMigrated  remember the new id (meta "chat_migrated:<name>") and resend there
    DeliveryRefused       park the rows; tell the health chats (unless the refused chat is one)

A row is marked sent only after Telegram answered, so a crash in between sends it again
(at-least-once); nothing is ever dropped.

Several processes may share one database (``run`` while an analyst runs ``once`` or ``retrohunt``).
Right before each message, the store's ``claim_send`` gives this dispatcher its rows (a lease of
:data:`LEASE` seconds) in the same transaction that checks the rate limits and the 429 pause against
the send log all processes share: only one process sends a given row, and the limits hold for all
of them together.

Alert messages carry the triage keyboard (buttons.alert_buttons: "Mute 24h", "False positive";
a digest only "Mute 24h" per watch entry); a "repost" row is the short "also seen on" message,
sent as a reply to its group's first alert (``OutboxRow.reply_to``). Keyboards and replies go to
Telegram only: the console prints the text.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from monitor.alerts.compose import Message, compose
from monitor.alerts.console import Sender
from monitor.alerts.htmltext import clip_plain, to_plain
from monitor.alerts.pacing import BACKOFF_BASE, BACKOFF_CAP, Window, distinct, dt, is_group, ts
from monitor.alerts.render import render_text
from monitor.config import TelegramConfig
from monitor.errors import DeliveryBadMarkup, DeliveryChatMigrated, DeliveryError, DeliveryRateLimited, DeliveryRefused
from monitor.records import OutboxRow, SendClaim
from monitor.sendclaims import claim_owner

log = logging.getLogger(__name__)

PAUSE_KEY = "telegram_pause_until"
MIGRATED_KEY = "chat_migrated:{}"

BATCH = 200                  # rows read per pass
POLL = 1.0                   # drain: how often to look for rows another process made due
REFUSAL_NOTICE_EVERY = 3600.0
# How long a sender holds the rows of a message it was cleared to send. One send is bounded at 60 s
# (3 x the sender's 20 s socket timeout) and one message may be sent up to five times in a row
# (plain-text fallback, chat migrations), so a live sender never loses its claim mid-send. A
# sender that crashed holds its rows this long at most, and not at all when it ran on this machine.
LEASE = 300.0


@dataclass(frozen=True)
class DeliveryReport:
    """What one pass (or a drain) did: rows sent, rows left for a retry, rows parked, rows pending."""

    sent: int
    failed: int
    parked: int
    pending: int
    # seconds from each alerted item's first sighting to its message
    latencies: tuple[float, ...] = field(default=(), compare=False)


class _Outcome(enum.Enum):
    SENT = "sent"
    RETRY = "retry"            # the chat is blocked for the rest of the pass
    PARKED = "parked"          # this message only
    PARKED_CHAT = "parked chat"  # every later message to the chat would be refused too
    PAUSED = "paused"          # 429: nothing more to anyone


class Dispatcher:
    """Sends due outbox rows through ``sender``; ``store`` is an AsyncStore (or any object with its
    outbox methods as coroutines). ``clock`` and ``sleep`` are injectable for tests."""

    def __init__(self, store: Any, sender: Sender, telegram_config: TelegramConfig, *,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 rng: random.Random | None = None, mask: bool = True) -> None:
        self.store = store
        self.mask = mask             # [privacy] mask: personal data masked in what is sent
        self.sender = sender
        self.config = telegram_config
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        # A console sender prints whatever it gets: no Telegram limits, no chat ids needed.
        self._local = sender.local
        self._pause_until = 0.0
        self._blocked: dict[str, float] = {}      # chat -> until: backoff after a transient failure
        self._wake: float | None = None          # earliest known time something becomes due
        self._refusal_noted: dict[str, float] = {}
        self._latencies: list[float] = []          # of the pass under way, for the metrics
        self.owner = claim_owner()                 # this dispatcher's name in send claims

    # ------------------------------------------------------------ public

    async def deliver_due(self) -> DeliveryReport:
        """One pass over the due rows. Sleeps (via ``sleep``) only to keep the rate limits."""
        now = self._clock()
        await self._load_pause()
        self._wake = None
        self._latencies = []
        sent = failed = parked = 0
        if self._pause_until > now:
            self._note_wake(self._pause_until)
            return DeliveryReport(0, 0, 0, await self._pending())
        rows = await self.store.due_outbox(dt(now), BATCH)
        if len(rows) >= BATCH:
            self._note_wake(now)      # more are due than one pass reads
        by_chat: dict[str, list[tuple[int, OutboxRow]]] = {}
        for position, row in enumerate(rows):
            if not self._local and row.chat not in self.config.chats:
                await self.store.mark_parked([row.id], f"chat {row.chat!r} is no longer in [telegram.chats]")
                log.warning("outbox row %s parked: chat %r is no longer configured", row.id, row.chat)
                parked += 1
                continue
            until = self._blocked.get(row.chat, 0.0)
            if until > now:
                self._note_wake(until)
                continue
            by_chat.setdefault(row.chat, []).append((position, row))

        queues: dict[str, deque[Message]] = {}
        for chat, chat_rows in by_chat.items():
            messages, unrenderable = compose(chat, chat_rows, mask=self.mask)
            for row, reason in unrenderable:
                await self._retry([row], reason)
                failed += 1
            if messages:
                queues[chat] = deque(messages)
        targets = {chat: await self._chat_id(chat) for chat in queues}
        window = await self._window(list(queues), now)

        not_before: dict[str, float] = {}      # chat -> the store said: another sender went first
        while queues:
            now = self._clock()
            if self._pause_until > now:
                break
            ready, chat = min((max(self._ready(window, chat, targets[chat], now), not_before.get(chat, now)), chat)
                              for chat in queues)
            if ready > now:
                await self._sleep(ready - now)
                now = self._clock()
            message = queues[chat][0]
            claim = await self._claim(message, targets[chat], now)
            if claim.wait_until is not None:
                until = max(ts(claim.wait_until), now + 0.001)
                if claim.paused:             # another process met a 429: nothing more to anyone
                    self._pause_until = max(self._pause_until, until)
                    self._note_wake(until)
                    break
                not_before[chat] = until
                continue
            queues[chat].popleft()
            if not queues[chat]:
                del queues[chat]
            if claim.lost:                   # sent, or being sent, by another process
                continue
            outcome, targets[chat], reason = await self._deliver(message, targets[chat], window)
            count = len(message.rows)
            if outcome is _Outcome.SENT:
                sent += count
            elif outcome in (_Outcome.PARKED, _Outcome.PARKED_CHAT):
                parked += count
                if outcome is _Outcome.PARKED_CHAT:
                    for later in queues.pop(chat, ()):
                        await self.store.mark_parked([r.id for r in later.rows], reason)
                        parked += len(later.rows)
            else:
                failed += count
                if outcome is _Outcome.RETRY:
                    queues.pop(chat, None)
                else:     # PAUSED: leave every other message due; they go after the pause
                    break
        return DeliveryReport(sent, failed, parked, await self._pending(), tuple(self._latencies))

    async def drain(self, timeout: float) -> DeliveryReport:
        """Repeat passes until nothing is pending or ``timeout`` seconds have passed.

        Between passes it sleeps until the next known due time (a backoff, the end of a 429 pause),
        looking again every second for rows made due elsewhere. Counts are summed over the passes;
        ``pending`` is what is left at the end.
        """
        deadline = self._clock() + timeout
        sent = failed = parked = 0
        while True:
            report = await self.deliver_due()
            sent, failed, parked = sent + report.sent, failed + report.failed, parked + report.parked
            now = self._clock()
            if report.pending == 0 or now >= deadline:
                return DeliveryReport(sent, failed, parked, report.pending)
            wake = min(self._wake if self._wake is not None else now + POLL, now + POLL)
            if wake <= now and not (report.sent or report.failed or report.parked):
                wake = now + 0.05      # nothing moved: do not spin
            await self._sleep(max(0.0, min(wake, deadline) - now))

    async def send_test(self, chat: str | None = None) -> list[tuple[str, bool, str | None]]:
        """Send a short test message to each configured chat (or the one named).

        Returns ``(chat, ok, error)`` for each. Goes around the outbox: nothing is stored.
        """
        names = [chat] if chat is not None else list(self.config.chats)
        if not names and self._local:
            names = ["console"]
        results: list[tuple[str, bool, str | None]] = []
        for name in names:
            if not self._local and name not in self.config.chats:
                results.append((name, False, f"chat {name!r} is not in [telegram.chats]"))
                continue
            stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            html = render_text({"text": f"✅ leakmon test message for chat \"{name}\" ({stamp}). "
                                        "Alerts for this chat will arrive here."})
            target = await self._chat_id(name) if not self._local else None
            try:
                try:
                    await self.sender.send(name, html, chat_id=target)
                except DeliveryChatMigrated as exc:
                    await self._remember_migration(name, exc.new_chat_id)
                    await self.sender.send(name, html, chat_id=exc.new_chat_id)
            except DeliveryRateLimited as exc:
                await self._pause(exc.retry_after)
                results.append((name, False, exc.reason))
            except DeliveryError as exc:
                results.append((name, False, exc.reason))
            else:
                results.append((name, True, None))
        return results

    # ------------------------------------------------------------ sending one message

    async def _deliver(self, message: Message, target: int | str | None,
                       window: Window) -> tuple[_Outcome, int | str | None, str]:
        """Send one message with the markup and migration fallbacks; record the outcome in the store."""
        ids = [row.id for row in message.rows]
        html, plain, migrations = message.html, False, 0
        extras: dict[str, Any] = {}
        if not self._local:       # a keyboard and a reply mean something on Telegram only
            if message.buttons:
                extras["buttons"] = message.buttons
            if message.reply_to is not None:
                extras["reply_to"] = message.reply_to
        while True:
            try:
                message_id = await self.sender.send(message.chat, html, plain=plain, chat_id=target, **extras)
            except DeliveryRateLimited as exc:
                until = await self._pause(exc.retry_after)
                await self.store.mark_retry(ids, exc.reason, dt(until))
                log.warning("Telegram rate limit: all sending paused for %gs", exc.retry_after)
                return _Outcome.PAUSED, target, exc.reason
            except DeliveryBadMarkup as exc:
                if plain:
                    await self.store.mark_parked(ids, exc.reason)
                    log.error("outbox rows %s parked for chat %r: %s", ids, message.chat, exc.reason)
                    return _Outcome.PARKED, target, exc.reason
                log.warning("chat %r refused the HTML (%s): resending as plain text", message.chat, exc.reason)
                html, plain = clip_plain(to_plain(html)), True
            except DeliveryChatMigrated as exc:
                migrations += 1
                if migrations > 2:
                    await self._retry(message.rows, "chat keeps migrating")
                    return _Outcome.RETRY, target, "chat keeps migrating"
                await self._remember_migration(message.chat, exc.new_chat_id)
                log.warning("chat %r migrated to %s: resending there", message.chat, exc.new_chat_id)
                target = exc.new_chat_id
            except DeliveryRefused as exc:
                await self.store.mark_parked(ids, exc.reason)
                log.error("outbox rows %s parked for chat %r: %s", ids, message.chat, exc.reason)
                await self._notify_refused(message.chat, exc.reason)
                return (_Outcome.PARKED_CHAT if exc.chat_wide else _Outcome.PARKED), target, exc.reason
            except DeliveryError as exc:    # Transient, Uncertain, or any other: retry later
                reason = exc.reason
                until = await self._retry(message.rows, reason)
                self._blocked[message.chat] = until
                log.warning("delivery to chat %r failed (%s): retry in %.0fs",
                            message.chat, reason, until - self._clock())
                return _Outcome.RETRY, target, reason
            else:
                sent_at = self._clock()
                await self.store.mark_sent(ids, message_id, dt(sent_at))
                window.record(message.chat, sent_at)
                for row in message.rows:
                    if row.hits:
                        seen = min(h.first_seen for h in row.hits).timestamp()
                        self._latencies.append(max(0.0, sent_at - seen))
                return _Outcome.SENT, target, ""

    async def _claim(self, message: Message, target: int | str | None, now: float) -> SendClaim:
        """Ask the store for the message's rows and a send slot under the shared rate limits."""
        ids = [row.id for row in message.rows]
        if self._local:          # the console: claims only, no Telegram limits
            return cast(SendClaim, await self.store.claim_send(ids, self.owner, message.chat, dt(now), lease=LEASE))
        group = target is not None and is_group(target)

        def ready(everyone: list[datetime], mine: list[datetime]) -> datetime:
            shared = Window(everyone=[ts(t) for t in everyone], chats={message.chat: [ts(t) for t in mine]})
            return dt(shared.ready_at(message.chat, group, now))

        return cast(SendClaim, await self.store.claim_send(ids, self.owner, message.chat, dt(now), lease=LEASE,
                                                           pause_key=PAUSE_KEY, ready=ready))

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` failed ones: 5 s doubling, capped at 15 min,
        with +/-20 % jitter so many pending rows do not retry in lockstep."""
        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(max(attempts, 0), 20))
        return min(BACKOFF_CAP, delay * self._rng.uniform(0.8, 1.2))

    async def _retry(self, rows: Sequence[OutboxRow], reason: str) -> float:
        until = self._clock() + self.backoff(max(row.attempts for row in rows))
        await self.store.mark_retry([row.id for row in rows], reason, dt(until))
        self._note_wake(until)
        return until

    # ------------------------------------------------------------ state kept in the store

    async def _load_pause(self) -> None:
        value = await self.store.get_meta(PAUSE_KEY)
        try:
            stored = float(value) if value else 0.0
        except ValueError:
            stored = 0.0
        self._pause_until = max(self._pause_until, stored)

    async def _pause(self, seconds: float) -> float:
        until = self._clock() + max(0.0, seconds)
        self._pause_until = max(self._pause_until, until)
        await self.store.set_meta(PAUSE_KEY, repr(self._pause_until))
        self._note_wake(self._pause_until)
        return self._pause_until

    async def _chat_id(self, chat: str) -> int | str | None:
        """The id to send to: the configured one, or where it migrated (while the config still
        names the old id)."""
        configured = self.config.chats.get(chat)
        value = await self.store.get_meta(MIGRATED_KEY.format(chat))
        if value and configured is not None:
            try:
                moved = json.loads(value)
                if moved.get("from") == configured:
                    return int(moved["to"])
            except (ValueError, TypeError, KeyError, AttributeError):
                pass
        return configured

    async def _remember_migration(self, chat: str, new_id: int) -> None:
        configured = self.config.chats.get(chat)
        await self.store.set_meta(MIGRATED_KEY.format(chat), json.dumps({"from": configured, "to": new_id}))

    async def _notify_refused(self, chat: str, reason: str) -> None:
        """One health message per refused chat per hour; never about a health chat (no loop)."""
        health = [c for c in self.config.health_chats if c != chat]
        if chat in self.config.health_chats or not health:
            return
        now = self._clock()
        if now - self._refusal_noted.get(chat, -REFUSAL_NOTICE_EVERY) < REFUSAL_NOTICE_EVERY:
            return
        self._refusal_noted[chat] = now
        await self.store.enqueue_text(health, {"event": "delivery_refused", "chat": chat, "reason": reason},
                                      "health")

    async def _window(self, chats: list[str], now: float) -> Window:
        """Send times the store remembers (so the limits hold across restarts)."""
        window = Window()
        if self._local or not chats:
            return window
        window.everyone = distinct(await self.store.sent_times(None, dt(now - 1.0)))
        for chat in chats:
            window.chats[chat] = distinct(await self.store.sent_times(chat, dt(now - 60.0)))
        return window

    def _ready(self, window: Window, chat: str, target: int | str | None, now: float) -> float:
        if self._local:
            return now
        return window.ready_at(chat, target is not None and is_group(target), now)

    async def _pending(self) -> int:
        stats = await self.store.outbox_stats(dt(self._clock()))
        return int(stats.pending)

    def _note_wake(self, when: float) -> None:
        self._wake = when if self._wake is None else min(self._wake, when)
