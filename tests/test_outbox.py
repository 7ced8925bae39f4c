"""The dispatcher against the fake Bot API on loopback, with an in-memory store (and the real one).

Most tests use a fake clock whose ``sleep`` advances it, so rate limits and backoffs are checked
without waiting; the 429 test uses real time because "no call for 2 s" is about the wire.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.alerts.console import ConsoleSender
from monitor.alerts.htmltext import to_plain
from monitor.alerts.outbox import MIGRATED_KEY, PAUSE_KEY, DeliveryReport, Dispatcher
from monitor.alerts.pacing import BACKOFF_CAP
from monitor.alerts.telegram import TelegramSender
from monitor.config import TelegramConfig, WatchEntry
from monitor.records import Hit, HitView, Item, OutboxRow, OutboxStats, SendClaim
from tests.fakebot import FakeBot, check_html, check_plain
from tests.support.clocks import SleepClock

TOKEN = "5550001111:AAE-outbox_secret-token"
CHATS: dict[str, int | str] = {"soc": -1001111111111, "ops": -1002222222222, "cert": "@cert_alerts",
                               "analyst": 31337}
START = 1_732_000_000.0


def tg_config(**overrides: Any) -> TelegramConfig:
    values: dict[str, Any] = {"token_env": "LEAKMON_TEST_TOKEN", "default_chats": ("soc",),
                              "health_chats": ("ops",), "chats": dict(CHATS)}
    values.update(overrides)
    return TelegramConfig(**values)


# ---------------------------------------------------------------- test doubles of our own


@dataclass
class _Row:
    row: OutboxRow
    state: str = "pending"
    next_attempt: datetime = datetime.min.replace(tzinfo=UTC)
    error: str | None = None
    message_id: int | None = None
    sent_at: datetime | None = None
    batch: int | None = None


@dataclass
class FakeStore:
    """The outbox part of the Store interface, in memory (same semantics as monitor/store/outbox.py)."""

    rows: dict[int, _Row] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    claims: dict[int, str] = field(default_factory=dict)            # row -> owner, until marked
    slots: list[tuple[str, datetime]] = field(default_factory=list)  # the shared send log

    def add(self, chat: str, kind: str = "alert", hits: Sequence[HitView] = (),
            payload: Mapping[str, object] | None = None) -> int:
        row_id = next(self.ids)
        created = datetime.fromtimestamp(START - 100, UTC) + timedelta(microseconds=row_id)
        self.rows[row_id] = _Row(OutboxRow(row_id, chat, kind, created, 0, tuple(hits), dict(payload or {})))
        return row_id

    def state(self, row_id: int) -> str:
        return self.rows[row_id].state

    async def due_outbox(self, now: datetime, limit: int = 200) -> list[OutboxRow]:
        due = [r.row for r in self.rows.values() if r.state == "pending" and r.next_attempt <= now]
        return sorted(due, key=lambda r: (r.created, r.id))[:limit]

    async def claim_send(self, row_ids: Sequence[int], owner: str, chat: str, now: datetime, *, lease: float,
                         pause_key: str | None = None, ready: Any = None) -> SendClaim:
        if any(self.rows[i].state != "pending" or self.rows[i].next_attempt > now
               or self.claims.get(i, owner) != owner for i in row_ids):
            return SendClaim(False)
        pause = float(self.meta.get(pause_key or "", "0") or 0)
        if pause > now.timestamp():
            return SendClaim(False, datetime.fromtimestamp(pause, UTC), paused=True)
        if ready is not None:
            when = ready([t for _, t in self.slots if t > now - timedelta(seconds=1)],
                         [t for c, t in self.slots if c == chat and t > now - timedelta(seconds=60)])
            if when > now:
                return SendClaim(False, when)
            self.slots.append((chat, now))
        self.claims.update((i, owner) for i in row_ids)
        return SendClaim(True)

    async def mark_sent(self, row_ids: Sequence[int], message_id: int | None, now: datetime) -> None:
        for i in row_ids:
            self.claims.pop(i, None)
            self.rows[i] = replace(self.rows[i], state="sent", message_id=message_id, sent_at=now,
                                   batch=min(row_ids), error=None)

    async def mark_retry(self, row_ids: Sequence[int], error: str, next_attempt: datetime) -> None:
        for i in row_ids:
            self.claims.pop(i, None)
            r = self.rows[i]
            if r.state == "pending":
                self.rows[i] = replace(r, row=replace(r.row, attempts=r.row.attempts + 1), error=error,
                                       next_attempt=next_attempt)

    async def mark_parked(self, row_ids: Sequence[int], error: str) -> None:
        for i in row_ids:
            self.claims.pop(i, None)
            if self.rows[i].state == "pending":
                self.rows[i] = replace(self.rows[i], state="parked", error=error)

    async def outbox_stats(self, now: datetime) -> OutboxStats:
        pending = [r for r in self.rows.values() if r.state == "pending"]
        oldest = min((r.row.created for r in pending), default=None)
        return OutboxStats(len(pending), None if oldest is None else (now - oldest).total_seconds(),
                           sum(r.state == "parked" for r in self.rows.values()))

    async def sent_times(self, chat: str | None, since: datetime) -> list[datetime]:
        seen: dict[tuple[str, int], datetime] = {}
        for r in self.rows.values():
            if r.state == "sent" and r.sent_at and r.sent_at >= since and chat in (None, r.row.chat):
                seen.setdefault((r.row.chat, r.batch or 0), r.sent_at)
        return sorted(seen.values())

    async def get_meta(self, key: str) -> str | None:
        return self.meta.get(key)

    async def set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self.meta.pop(key, None)
        else:
            self.meta[key] = value

    async def enqueue_text(self, chats: Sequence[str], payload: Mapping[str, object], kind: str = "text") -> None:
        for chat in chats:
            self.add(chat, kind, payload=payload)


def hit(n: int, *, watch: str = "Mediboard", retro: bool = False) -> HitView:
    text = f"post {n}: records taken through the Mediboard account of hospital {n}"
    item = Item(source="bf", item_id=str(n), url=f"http://forum.onion/t?tid={n}", title=f"Leak number {n}",
                text=text, author="kz", date=None)
    start = text.index("Mediboard")
    return HitView(id=n, watch=watch, kind="software", severity="high", terms=("Mediboard",), field="text",
                   start=start, end=start + 9, retro=retro, first_seen=datetime.now(UTC), item=item)



def dispatch(bot: FakeBot, store: Any, coro: Any, *, clock: SleepClock | None = None,
             config: TelegramConfig | None = None, timeout: float = 20.0) -> Any:
    """Run ``coro(dispatcher)`` with a TelegramSender on the fake bot."""
    async def main() -> Any:
        sender = TelegramSender(TOKEN, bot.api_url, CHATS, timeout=timeout)
        await sender.start()
        try:
            if clock is None:
                dispatcher = Dispatcher(store, sender, config or tg_config(), rng=random.Random(7))
            else:
                dispatcher = Dispatcher(store, sender, config or tg_config(), clock=clock, sleep=clock.sleep,
                                        rng=random.Random(7))
            return await coro(dispatcher)
        finally:
            await sender.stop()
    return asyncio.run(main())


# ---------------------------------------------------------------- ordinary delivery


def test_one_message_per_row_html_without_previews(bot: FakeBot) -> None:
    store = FakeStore()
    a = store.add("soc", hits=[hit(1)])
    b = store.add("soc", hits=[hit(2), hit(3, watch="CHU de Rennes")])
    c = store.add("cert", hits=[hit(4, retro=True)])
    d = store.add("ops", "health", payload={"source": "zataz", "event": "failing", "reason": "HTTP 503",
                                            "failures": 3, "since": START})
    e = store.add("analyst", "text", payload={"text": "hello <analyst>"})
    report = dispatch(bot, store, lambda d: d.deliver_due(), clock=SleepClock(START))
    assert report == DeliveryReport(sent=5, failed=0, parked=0, pending=0)
    by_chat = {m.chat_id: m for m in bot.sent}
    assert len(bot.sent) == 5
    assert all(m.parse_mode == "HTML" and m.preview_disabled for m in bot.sent)
    assert [m.chat_id for m in bot.sent].count(CHATS["soc"]) == 2
    assert "Leak number 2" in bot.texts(CHATS["soc"])[1] and "CHU de Rennes" in bot.texts(CHATS["soc"])[1]
    assert "retro-hunt" in by_chat["@cert_alerts"].visible
    assert "HTTP 503" in by_chat[CHATS["ops"]].visible
    assert by_chat[CHATS["analyst"]].visible == "hello <analyst>"
    ids = {m.message_id for m in bot.sent}
    assert {store.rows[i].message_id for i in (a, b, c, d, e)} == ids
    # a second pass has nothing to do
    again = dispatch(bot, store, lambda d: d.deliver_due(), clock=SleepClock(START))
    assert again == DeliveryReport(0, 0, 0, 0) and len(bot.sent) == 5


def test_more_than_ten_alerts_for_one_chat_become_digests(bot: FakeBot) -> None:
    store = FakeStore()
    soc = [store.add("soc", hits=[hit(n)]) for n in range(1, 31)]
    ops = [store.add("ops", hits=[hit(n)]) for n in range(100, 110)]       # exactly 10: individual
    report = dispatch(bot, store, lambda d: d.deliver_due(), clock=SleepClock(START))
    assert report.sent == 40 and report.pending == 0
    soc_texts = [m.visible for m in bot.sent if m.chat_id == CHATS["soc"]]
    assert 1 < len(soc_texts) < 30
    assert all("digest" in t for t in soc_texts)
    for n in range(1, 31):     # every item in exactly one digest message
        assert sum(f"Leak number {n}\n" in t for t in soc_texts) == 1
    digest_ids = {m.message_id for m in bot.sent if m.chat_id == CHATS["soc"]}
    assert {store.rows[i].message_id for i in soc} == digest_ids
    assert all(store.state(i) == "sent" for i in soc + ops)
    assert len([m for m in bot.sent if m.chat_id == CHATS["ops"]]) == 10


# ---------------------------------------------------------------- failures


def test_gateway_errors_then_everything_delivered_exactly_once(bot: FakeBot) -> None:
    store = FakeStore()
    rows = [store.add(chat, hits=[hit(n)]) for n, chat in enumerate(["soc", "soc", "cert", "analyst"], 1)]
    clock = SleepClock(START)

    async def body(d: Dispatcher) -> tuple[DeliveryReport, DeliveryReport]:
        bot.fail_5xx(count=None)
        first = await d.deliver_due()
        await d.drain(30)                   # Telegram still down: stays pending
        # a failing chat is backed off as a whole, not hammered row after row
        assert store.rows[rows[1]].row.attempts == 0 and store.rows[rows[0]].row.attempts >= 2
        bot.fail_5xx(count=4)           # four more failures, then it works
        return first, await d.drain(3600)
    first, final = dispatch(bot, store, body, clock=clock)
    assert first.sent == 0 and first.failed == 3 and first.pending == 4   # one try per chat, the rest wait
    assert final.pending == 0
    assert all(store.state(i) == "sent" for i in rows)
    texts = bot.texts()
    assert len(texts) == 4 and len(set(texts)) == 4                      # exactly once each
    assert max(store.rows[i].row.attempts for i in rows) >= 2
    assert clock.t - START < 3600


def test_connection_refused_is_retried_until_the_server_is_back(bot: FakeBot) -> None:
    store = FakeStore()
    row = store.add("soc", hits=[hit(1)])

    async def body(d: Dispatcher) -> tuple[DeliveryReport, DeliveryReport]:
        bot.down()
        try:
            first = await d.deliver_due()
        finally:
            bot.up()
        return first, await d.drain(60)
    first, final = dispatch(bot, store, body, clock=SleepClock(START))
    assert (first.failed, first.pending) == (1, 1)
    assert "unreachable" in (store.rows[row].error or "") or store.state(row) == "sent"
    assert final.pending == 0 and store.state(row) == "sent" and len(bot.sent) == 1


def test_backoff_doubles_from_five_seconds_with_jitter_and_a_cap() -> None:
    d = Dispatcher(FakeStore(), ConsoleSender(), tg_config(), rng=random.Random(1))
    for attempts in range(12):
        delay = d.backoff(attempts)
        nominal = min(BACKOFF_CAP, 5.0 * 2 ** attempts)
        assert 0.8 * nominal <= delay <= min(BACKOFF_CAP, 1.2 * nominal)
    assert d.backoff(10_000) <= BACKOFF_CAP
    assert len({d.backoff(3) for _ in range(20)}) > 1                     # jittered


def test_rate_limit_pauses_all_chats(bot: FakeBot) -> None:
    store = FakeStore()
    rows = [store.add(chat, hits=[hit(n)]) for n, chat in enumerate(["soc", "cert", "analyst"], 1)]

    async def body(d: Dispatcher) -> DeliveryReport:
        bot.rate_limit(retry_after=2)
        return await d.drain(15)
    report = dispatch(bot, store, body)       # real clock: the wire must stay quiet for 2 s
    assert report.pending == 0 and all(store.state(i) == "sent" for i in rows)
    times = bot.call_times("sendMessage")
    assert len(times) == 4
    limited = times[0]
    assert all(t >= limited + 2.0 for t in times[1:])
    assert float(store.meta[PAUSE_KEY]) > 0


def test_a_stored_pause_holds_after_a_restart(bot: FakeBot) -> None:
    store = FakeStore()
    store.add("soc", hits=[hit(1)])
    clock = SleepClock(START)
    store.meta[PAUSE_KEY] = repr(START + 30)     # a 429 seen by the previous process

    async def body(d: Dispatcher) -> tuple[DeliveryReport, DeliveryReport]:
        return await d.deliver_due(), await d.drain(60)
    held, after = dispatch(bot, store, body, clock=clock)
    assert held == DeliveryReport(0, 0, 0, 1)
    assert after.sent == 1 and bot.sent[0].t > 0
    assert clock.t >= START + 30


def test_chat_not_found_parks_and_tells_the_health_chats(bot: FakeBot) -> None:
    store = FakeStore()
    refused = [store.add("soc", hits=[hit(n)]) for n in (1, 2, 3)]
    fine = store.add("cert", hits=[hit(4)])
    bot.chat_not_found(CHATS["soc"])

    async def body(d: Dispatcher) -> tuple[DeliveryReport, DeliveryReport]:
        return await d.deliver_due(), await d.deliver_due()
    first, second = dispatch(bot, store, body, clock=SleepClock(START))
    assert first.parked == 3 and first.sent == 1
    assert all(store.state(i) == "parked" for i in refused) and store.state(fine) == "sent"
    assert "chat not found" in (store.rows[refused[0]].error or "").lower()
    soc_calls = [c for c in bot.calls if c.method == "sendMessage" and str(c.params.get("chat_id"))
                 == str(CHATS["soc"])]
    assert len(soc_calls) == 1                        # the later rows were not tried again
    (notice,) = bot.texts(CHATS["ops"])
    assert second.sent == 1
    shown = check_html(notice)
    assert "soc" in shown and "chat not found" in shown.lower()


def test_a_refused_health_chat_does_not_notify_itself(bot: FakeBot) -> None:
    store = FakeStore()
    row = store.add("ops", "health", payload={"event": "recovered", "source": "x", "failures": 3})
    bot.forbidden(CHATS["ops"])
    report = dispatch(bot, store, lambda d: d.drain(10), clock=SleepClock(START))
    assert report.parked == 1 and store.state(row) == "parked"
    assert len(store.rows) == 1


def test_unparsable_markup_is_resent_as_plain_text(bot: FakeBot) -> None:
    store = FakeStore()
    row = store.add("soc", hits=[hit(7)])
    bot.refuse_markup(count=1)
    report = dispatch(bot, store, lambda d: d.deliver_due(), clock=SleepClock(START))
    assert report.sent == 1 and store.state(row) == "sent"
    html_call, plain_call = [c for c in bot.calls if c.method == "sendMessage"]
    assert html_call.params["parse_mode"] == "HTML"
    assert "parse_mode" not in plain_call.params
    (sent,) = bot.sent
    assert sent.text == to_plain(html_call.params["text"])
    assert "Leak number 7 (http://forum.onion/t?tid=7)" in sent.text and "<b>" not in sent.text
    assert sent.preview_disabled
    check_plain(sent.text)


def test_migrated_chat_gets_the_message_and_is_remembered(bot: FakeBot) -> None:
    store = FakeStore()
    first = store.add("soc", hits=[hit(1)])
    bot.migrate(CHATS["soc"], -1009999999999)

    async def body(d: Dispatcher) -> None:
        await d.deliver_due()
        store.add("soc", hits=[hit(2)])
        await d.drain(10)
    dispatch(bot, store, body, clock=SleepClock(START))
    assert store.state(first) == "sent"
    assert [m.chat_id for m in bot.sent] == [-1009999999999, -1009999999999]
    tried_old = [c for c in bot.calls if str(c.params.get("chat_id")) == str(CHATS["soc"])]
    assert len(tried_old) == 1                          # the second message went straight to the new id
    assert "-1009999999999" in store.meta[MIGRATED_KEY.format("soc")]


def test_timeout_is_retried_at_least_once(bot: FakeBot) -> None:
    store = FakeStore()
    row = store.add("soc", hits=[hit(1)])

    async def body(d: Dispatcher) -> tuple[DeliveryReport, str | None, DeliveryReport]:
        bot.delay(1.0, count=1)
        first = await d.deliver_due()
        error = store.rows[row].error
        return first, error, await d.drain(60)
    first, error, final = dispatch(bot, store, body, clock=SleepClock(START), timeout=0.3)
    assert first.failed == 1 and "may have been sent" in (error or "")
    assert final.sent == 1 and final.pending == 0 and store.state(row) == "sent"


def test_chat_no_longer_configured_is_parked(bot: FakeBot) -> None:
    store = FakeStore()
    row = store.add("old-chat", hits=[hit(1)])
    report = dispatch(bot, store, lambda d: d.deliver_due(), clock=SleepClock(START))
    assert report.parked == 1 and store.state(row) == "parked"
    assert "old-chat" in (store.rows[row].error or "") and not bot.sent


# ---------------------------------------------------------------- rate limits


def sent_at(store: FakeStore, chat: str) -> list[float]:
    return sorted(r.sent_at.timestamp() for r in store.rows.values() if r.row.chat == chat and r.sent_at)


def test_one_message_per_second_per_chat_chats_in_parallel(bot: FakeBot) -> None:
    store = FakeStore()
    for n in range(5):
        store.add("soc", hits=[hit(n)])
        store.add("analyst", "text", payload={"text": f"note {n}"})
    clock = SleepClock(START)
    report = dispatch(bot, store, lambda d: d.deliver_due(), clock=clock)
    assert report.sent == 10
    for chat in ("soc", "analyst"):
        times = sent_at(store, chat)
        assert len(times) == 5
        assert all(b - a >= 1.0 for a, b in zip(times, times[1:]))
    assert clock.t - START < 6        # the two chats were served side by side, not one after the other


def test_groups_get_at_most_twenty_messages_a_minute(bot: FakeBot) -> None:
    store = FakeStore()
    for n in range(25):
        store.add("cert", "text", payload={"text": f"notice {n}"})     # text rows are never digested
    report = dispatch(bot, store, lambda d: d.deliver_due(), clock=SleepClock(START))
    assert report.sent == 25
    times = sent_at(store, "cert")
    assert all(sum(1 for t in times if start <= t < start + 60) <= 20 for start in times)
    assert times[20] - times[0] >= 60


def test_thirty_messages_a_second_overall(bot: FakeBot) -> None:
    chats = {f"user{n}": 1000 + n for n in range(40)}
    store = FakeStore()
    for name in chats:
        store.add(name, "text", payload={"text": f"hello {name}"})

    async def main() -> DeliveryReport:
        sender = TelegramSender(TOKEN, bot.api_url, chats)
        await sender.start()
        try:
            clock = SleepClock(START)
            return await Dispatcher(store, sender, tg_config(chats=chats, health_chats=(), default_chats=()),
                                    clock=clock, sleep=clock.sleep).deliver_due()
        finally:
            await sender.stop()
    assert asyncio.run(main()).sent == 40
    times = sorted(r.sent_at.timestamp() for r in store.rows.values())
    assert all(sum(1 for t in times if start <= t < start + 1.0) <= 30 for start in times)


def test_limits_hold_across_a_restart(bot: FakeBot) -> None:
    store = FakeStore()
    earlier = store.add("soc", hits=[hit(1)])
    store.rows[earlier] = replace(store.rows[earlier], state="sent", batch=earlier,
                                  sent_at=datetime.fromtimestamp(START - 0.25, UTC))
    store.add("soc", hits=[hit(2)])
    clock = SleepClock(START)
    dispatch(bot, store, lambda d: d.deliver_due(), clock=clock)
    assert sent_at(store, "soc")[1] - sent_at(store, "soc")[0] >= 1.0
    assert clock.sleeps and clock.sleeps[0] == pytest.approx(0.75)


# ---------------------------------------------------------------- test-alert and console


def test_send_test_reports_each_chat(bot: FakeBot) -> None:
    bot.chat_not_found(CHATS["cert"])
    results = dispatch(bot, FakeStore(), lambda d: d.send_test(None), clock=SleepClock(START))
    assert {(name, ok) for name, ok, _ in results} == {("soc", True), ("ops", True), ("cert", False),
                                                       ("analyst", True)}
    error = dict((name, err) for name, _, err in results)["cert"]
    assert error and "chat not found" in error.lower()
    assert len(bot.sent) == 3 and all("test message" in m.visible for m in bot.sent)
    one = dispatch(bot, FakeStore(), lambda d: d.send_test("ops"), clock=SleepClock(START))
    assert one == [("ops", True, None)]
    missing = dispatch(bot, FakeStore(), lambda d: d.send_test("nope"), clock=SleepClock(START))
    assert missing[0][:2] == ("nope", False)


def test_console_delivery_without_any_chat(capsys: pytest.CaptureFixture[str]) -> None:
    store = FakeStore()
    rows = [store.add("soc", hits=[hit(n)]) for n in range(3)]
    clock = SleepClock(START)
    config = tg_config(chats={}, default_chats=(), health_chats=())
    report = asyncio.run(Dispatcher(store, ConsoleSender(), config, clock=clock, sleep=clock.sleep).drain(5))
    assert report.sent == 3 and all(store.state(i) == "sent" for i in rows)
    out = capsys.readouterr().out
    assert out.count("[soc]") == 3 and "through the Mediboard account" in out
    assert clock.sleeps == []          # no Telegram rate limits on the console


# ---------------------------------------------------------------- the real store


def _real_store(path: Path, clock: SleepClock) -> Any:
    try:
        from monitor.store import AsyncStore
        return AsyncStore(str(path), clock=lambda: datetime.fromtimestamp(clock(), UTC))
    except (ImportError, NotImplementedError) as exc:
        pytest.skip(f"monitor.store is not implemented yet: {exc!r}")


def test_with_the_real_store_nothing_is_lost_across_a_restart(bot: FakeBot, tmp_path: Path) -> None:
    from monitor.records import PollRecord

    clock = SleepClock(START)
    store = _real_store(tmp_path / "leakmon.db", clock)
    watches = {"Mediboard": WatchEntry(name="Mediboard", kind="software", terms=("Mediboard",),
                                       severity="high", chats=("soc", "cert"))}
    items = [Item(source="bf", item_id=str(n), url=f"http://forum.onion/t?tid={n}", title=f"Leak number {n}",
                  text=f"taken through the Mediboard account {n}") for n in range(1, 4)]
    hits = {it.item_id: [Hit("Mediboard", ("Mediboard",), "text", 17, 26)] for it in items}

    async def main() -> tuple[DeliveryReport, DeliveryReport, DeliveryReport, OutboxStats]:
        sender = TelegramSender(TOKEN, bot.api_url, CHATS)
        await sender.start()
        try:
            poll = PollRecord(source="bf", started=datetime.fromtimestamp(clock(), UTC), duration=0.1,
                              ok=True, items=3)
            await store.save_poll(poll, items, hits, watches, failure_threshold=3, health_chats=["ops"])
            bot.fail_5xx(count=None)
            down = await Dispatcher(store, sender, tg_config(), clock=clock, sleep=clock.sleep).deliver_due()
            bot.clear()
            # a new process: a new dispatcher on the same file
            restarted = Dispatcher(store, sender, tg_config(), clock=clock, sleep=clock.sleep)
            done = await restarted.drain(3600)
            again = await restarted.drain(5)
            return down, done, again, await store.outbox_stats(datetime.fromtimestamp(clock(), UTC))
        finally:
            await sender.stop()
            await store.close()
    down, done, again, stats = asyncio.run(main())
    assert down.sent == 0 and down.pending == 6
    assert done.sent == 6 and done.pending == 0
    assert again.sent == 0 and stats.pending == 0
    per_chat = {chat: [m.visible for m in bot.sent if m.chat_id == CHATS[chat]] for chat in ("soc", "cert")}
    for chat, texts in per_chat.items():
        assert sorted(t.split("\n")[2] for t in texts) == [f"📰 Leak number {n}" for n in (1, 2, 3)]
        assert all("<b>" not in t and "Mediboard" in t for t in texts)
    times = sorted(m.t for m in bot.sent if m.chat_id == CHATS["soc"])
    assert len(times) == 3
