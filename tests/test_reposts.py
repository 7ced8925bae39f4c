"""Repost grouping: the same leak on a second source (or under a second id) is one incident.

The similarity rule is tested as a pure function; the grouping on a real SQLite store; the reply
threading through the real dispatcher and TelegramSender against the fake Bot API; and the whole
flow once through `leakmon once` on two loopback RSS feeds.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.alerts.outbox import Dispatcher
from monitor.alerts.telegram import TelegramSender
from monitor.cli import main
from monitor.config import TelegramConfig, WatchEntry
from monitor.records import Hit, Item, PollRecord
from monitor.reposts import near_identical, title_key
from monitor.store import SCHEMA_VERSION, AsyncStore, Store
from tests.daemon_world import rss
from tests.fakebot import FakeBot
from tests.support.clocks import T0, Clock, SleepClock

TOKEN = "5550002222:AAE-repost_secret-token"
SOC, CERT = -1001111111111, -1002222222222
WATCHES = {
    "Mediboard": WatchEntry(name="Mediboard", kind="software", terms=("Mediboard",), severity="high",
                            chats=("soc", "cert")),
    "CHU de Rennes": WatchEntry(name="CHU de Rennes", terms=("CHU de Rennes",), chats=("soc",)),
}
TITLE = "Mediboard: 758,912 French patients database"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    s = Store(tmp_path / "leakmon.db", clock=clock)
    yield s
    s.close()


def save(store: Store, source: str, item_id: str, title: str, watch: str = "Mediboard") -> None:
    """One poll of ``source`` that found one item matching ``watch`` in its title."""
    item = Item(source=source, item_id=item_id, url=f"http://{source}.invalid/{item_id}", title=title,
                text="dump for sale", author="seller")
    at = title.lower().find(watch.lower().split()[0].lower())
    hits = {item_id: [Hit(watch=watch, terms=(watch,), field="title", start=max(at, 0),
                          end=max(at, 0) + len(watch))]}
    store.save_poll(PollRecord(source=source, started=store._now(), duration=0.1, ok=True, items=1),
                    [item], hits, WATCHES, failure_threshold=3, health_chats=())


def rows(store: Store) -> list[tuple[str, str, str, dict]]:
    """(chat, kind, state, payload) of every outbox row, in order."""
    return [(chat, kind, state, json.loads(payload)) for chat, kind, state, payload in store._conn.execute(
        "SELECT chat, kind, state, payload FROM outbox ORDER BY id")]


# ---------------------------------------------------------------- the rule


@pytest.mark.parametrize("a, b", [
    (TITLE, TITLE),
    (TITLE, "MEDIBOARD - 758 912 french patients DATABASE!!"),          # case, punctuation, spacing
    (TITLE, "Médiboard: 758,912 French patients databases"),            # accent, one letter more
    (TITLE, "Mediboard 758,912 French patient database"),               # one letter less
    ("CHU de Rennes full dump 2024", "CHU de Rennes full dump (2024)"),
])
def test_near_identical_titles_group(a: str, b: str) -> None:
    assert near_identical(title_key(a), title_key(b))


@pytest.mark.parametrize("a, b", [
    ("CHU de Rennes dump part 1", "CHU de Rennes dump part 2"),         # sequels are new posts
    (TITLE, "Mediboard: 120,000 French patients database"),             # other numbers, other leak
    (TITLE, "Mediboard admin panel access for sale"),
    ("Mediboard leak", "Mediboard leak"),                               # too short to tell
    ("", ""),
])
def test_different_or_short_titles_do_not_group(a: str, b: str) -> None:
    assert not near_identical(title_key(a), title_key(b))


# ---------------------------------------------------------------- the store decides at save time


def test_repost_on_another_source_is_a_repost_row_not_an_alert(store: Store) -> None:
    save(store, "forum-a", "1", TITLE)
    save(store, "forum-b", "77", "MEDIBOARD - 758 912 french patients DATABASE")
    kinds = [(chat, kind) for chat, kind, _, _ in rows(store)]
    assert kinds == [("soc", "alert"), ("cert", "alert"), ("soc", "repost"), ("cert", "repost")]
    first, second = sorted(store.hits(), key=lambda h: h.id)
    assert first.repost_of is None and second.repost_of == first.id
    payload = rows(store)[2][3]
    assert payload["first_hit"] == first.id
    # a third copy joins the same group (named by its first hit), not the second one's
    save(store, "forum-a", "2", "Mediboard: 758,912 French patients database (mirror)")
    newest = store.hits()[0]
    assert newest.item.item_id == "2" and newest.repost_of == first.id


def test_other_entry_other_post_or_old_post_still_alert(store: Store, clock: Clock) -> None:
    save(store, "forum-a", "1", TITLE)
    save(store, "forum-b", "5", "Mediboard admin panel access for sale")        # another post
    save(store, "forum-b", "6", "CHU de Rennes 758,912 French patients database", watch="CHU de Rennes")
    clock.now += timedelta(days=15)                                              # outside the window
    save(store, "forum-c", "9", TITLE)
    assert [kind for _, kind, _, _ in rows(store)] == ["alert"] * 7
    assert all(h.repost_of is None for h in store.hits())


def test_same_source_under_another_id_is_a_repost(store: Store) -> None:
    save(store, "forum-a", "1", TITLE)
    save(store, "forum-a", "2", TITLE + "!")
    assert [kind for _, kind, _, _ in rows(store)] == ["alert", "alert", "repost", "repost"]


def test_repost_waits_for_the_first_alert_then_replies_to_it(store: Store, clock: Clock) -> None:
    save(store, "forum-a", "1", TITLE)
    save(store, "forum-b", "77", TITLE)
    due = store.due_outbox(clock.now)
    assert [r.kind for r in due] == ["alert", "alert"]                   # the reposts wait
    soc_alert = next(r for r in due if r.chat == "soc")
    store.mark_sent([soc_alert.id], 4242, clock.now)
    due = store.due_outbox(clock.now)
    repost = next(r for r in due if r.kind == "repost")
    assert repost.chat == "soc" and repost.reply_to == 4242
    assert repost.payload["first_source"] == "forum-a" and repost.hits[0].item.source == "forum-b"
    assert [r.chat for r in due if r.kind == "repost"] == ["soc"]        # cert's first alert is still pending


# ---------------------------------------------------------------- through the dispatcher to the fake Bot API



def test_repost_is_one_reply_threaded_to_the_first_alert(tmp_path: Path, bot: FakeBot, clock: Clock) -> None:
    config = TelegramConfig(token_env="X", default_chats=("soc",), chats={"soc": SOC, "cert": CERT})

    async def scenario() -> None:
        store = AsyncStore(Store(tmp_path / "l.db", clock=clock))
        sender = TelegramSender(TOKEN, bot.api_url, config.chats)
        await sender.start()
        time = SleepClock(T0.timestamp() + 60.0)
        dispatcher = Dispatcher(store, sender, config, clock=time, sleep=time.sleep, rng=random.Random(3))
        try:
            save(store.store, "forum-a", "1", TITLE)
            save(store.store, "forum-b", "77", "MEDIBOARD - 758 912 french patients DATABASE <b>")
            first = await dispatcher.deliver_due()           # the alerts; the reposts wait for them
            second = await dispatcher.deliver_due()          # now the replies
            assert (first.sent, second.sent, second.pending) == (2, 2, 0)
        finally:
            await sender.stop()
            await store.close()

    asyncio.run(scenario())
    for chat in (SOC, CERT):
        alert, reply = [m for m in bot.sent if m.chat_id == chat]
        assert "Also seen on" not in alert.text and "forum-a.invalid/1" in alert.text
        assert "Also seen on" in reply.visible and "forum-b" in reply.visible
        assert reply.parse_mode == "HTML" and reply.preview_disabled and "DATABASE &lt;b&gt;" in reply.text
        threaded_to = reply.reply_to_message_id or (reply.reply_parameters or {}).get("message_id")
        assert threaded_to == alert.message_id
        # triage buttons on both, callback data by id, within 64 bytes
        for message in (alert, reply):
            data = [b["callback_data"] for row in message.reply_markup["inline_keyboard"] for b in row]
            assert any(d.startswith("mute:") for d in data) and any(d.startswith("fp:") for d in data)
            assert all(len(d.encode()) <= 64 for d in data)
    assert len(bot.sent) == 4


# ---------------------------------------------------------------- the whole flow, and `hits`


def test_once_on_two_feeds_alerts_once_and_replies_once(site, bot: FakeBot, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKMON_TEST_TOKEN", TOKEN)
    site.route("/a.xml", rss([("a-1", TITLE, "dump")]), headers={"Content-Type": "application/rss+xml"})
    config = tmp_path / "config.toml"
    config.write_text(f'''
[storage]
path = "{(tmp_path / 'l.db').as_posix()}"
[network]
timeout = "5s"
host_delay = "0s"
[telegram]
token_env = "LEAKMON_TEST_TOKEN"
api_url = "{bot.api_url}"
default_chats = ["soc"]
[telegram.chats]
soc = {SOC}
[[watch]]
name = "Mediboard"
terms = ["Mediboard"]
[[source]]
name = "feed-a"
kind = "rss"
url = "{site.url('/a.xml')}"
[[source]]
name = "feed-b"
kind = "rss"
url = "{site.url('/b.xml')}"
''', encoding="utf-8")
    site.route("/b.xml", rss([("b-9", "Patch Tuesday", "nothing")]), headers={"Content-Type": "application/rss+xml"})
    runner = CliRunner()
    assert runner.invoke(main, ["--config", str(config), "once"], catch_exceptions=False).exit_code == 0
    site.route("/b.xml", rss([("b-9", "Patch Tuesday", "nothing"), ("b-10", TITLE.upper() + " !!", "mirror")]),
               headers={"Content-Type": "application/rss+xml"})
    result = runner.invoke(main, ["--config", str(config), "once"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    alert, reply = bot.sent
    assert "Also seen on" in reply.visible and "feed-b" in reply.visible
    assert (reply.reply_to_message_id or (reply.reply_parameters or {}).get("message_id")) == alert.message_id
    hits = json.loads(runner.invoke(main, ["--config", str(config), "hits", "--format", "json"]).stdout)
    by_source = {h["source"]: h for h in hits}
    first, repost = by_source["feed-a"], by_source["feed-b"]
    assert first["repost_of"] is None and first["group"] == first["id"]
    assert repost["repost_of"] == first["id"] and repost["group"] == first["id"]
    csv_out = runner.invoke(main, ["--config", str(config), "hits", "--format", "csv"]).stdout
    assert csv_out.splitlines()[0].split(",")[-2:] == ["repost_of", "group"]


def test_a_schema_1_database_is_migrated_in_place(tmp_path: Path) -> None:
    import sqlite3

    Store(tmp_path / "old.db").close()
    with sqlite3.connect(tmp_path / "old.db") as db:        # roll the file back to schema 1
        db.execute("DROP TABLE mutes")
        db.execute("DROP INDEX idx_outbox_item_pk")
        db.execute("DROP INDEX idx_outbox_state_chat")
        db.execute("ALTER TABLE hits DROP COLUMN repost_of")
        db.execute("DROP TABLE send_slots")                 # and the schema 3 parts
        db.execute("ALTER TABLE outbox DROP COLUMN claim_owner")
        db.execute("ALTER TABLE outbox DROP COLUMN claim_until")
        db.execute("DROP TABLE evidence")                    # and what schema 4 added
        db.execute("ALTER TABLE items DROP COLUMN triage")
        db.execute("ALTER TABLE items DROP COLUMN erased")
        db.execute("ALTER TABLE hits DROP COLUMN snippet")
        db.execute("PRAGMA user_version = 1")
    clock = Clock()
    store = Store(tmp_path / "old.db", clock=clock)
    try:
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
        save(store, "forum-a", "1", TITLE)
        save(store, "forum-b", "2", TITLE)
        assert [h.repost_of for h in store.hits()] == [store.hits()[1].id, None]
        assert store.integrity_check() == "ok"
    finally:
        store.close()
