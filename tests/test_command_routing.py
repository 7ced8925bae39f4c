"""What each chat sees through the bot: /search, /recent and /status follow the alert routing.

A vendor chat that receives only "Mediboard" must not learn, by asking, of a "CHU de Rennes" post
meant for the SOC chat; the SOC chat receives every entry and sees everything; a chat that receives
no entry (health messages only) sees no post. Through python-telegram-bot against the fake Bot API.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.alerts.commands import Responder
from monitor.alerts.poller import CommandPoller
from monitor.config import load_config
from monitor.match import Matcher
from monitor.records import Item, PollRecord
from monitor.store import AsyncStore, Store
from tests.fakebot import FakeBot
from tests.support.waiting import until

SOC, VENDOR, OPS = -1001111111111, -1004444444444, -1003333333333
TOKEN = "5550004444:AAE-routing_secret-token"


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'''
[storage]
path = "{(tmp_path / 'l.db').as_posix()}"
[telegram]
token_env = "LEAKMON_TEST_TOKEN"
commands = true
default_chats = ["soc"]
health_chats = ["ops"]
[telegram.chats]
soc = {SOC}
vendor = {VENDOR}
ops = {OPS}
[[watch]]
name = "Mediboard"
terms = ["Mediboard"]
chats = ["soc", "vendor"]
[[watch]]
name = "CHU de Rennes"
terms = ["CHU de Rennes"]
[[source]]
name = "forum"
kind = "rss"
url = "http://127.0.0.1:9/forum.xml"
''', encoding="utf-8")
    return path


def _message(chat_id: int, text: str, message_id: int) -> dict[str, Any]:
    return {"message": {"message_id": message_id, "date": int(time.time()), "text": text,
                        "chat": {"id": chat_id, "type": "supergroup", "title": "a chat"},
                        "from": {"id": 4242, "is_bot": False, "first_name": "analyst"},
                        "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]}}


def test_search_recent_and_status_show_a_chat_only_its_own_posts(bot: FakeBot, tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))
    store = Store(tmp_path / "l.db")
    posts = [Item(source="forum", item_id="1", url="http://forum.invalid/1", title="CHU de Rennes: 40k patients",
                  text="Dump of the CHU de Rennes, Rennes hospital records"),
             Item(source="forum", item_id="2", url="http://forum.invalid/2", title="Mediboard admin panel",
                  text="Mediboard install near Rennes, admin accounts"),
             Item(source="forum", item_id="3", url="http://forum.invalid/3", title="Rennes weather forum",
                  text="nothing watched here, Rennes")]
    matcher = Matcher(config.watches, cache_dir=None)
    hits = {p.item_id: found for p in posts if (found := matcher.match(p.title, p.text))}
    assert set(hits) == {"1", "2"}
    store.save_poll(PollRecord(source="forum", started=datetime.now(UTC), duration=0.1, ok=True,
                               items=3), posts, hits, {w.name: w for w in config.watches},
                    failure_threshold=3, health_chats=("ops",))

    async def scenario() -> None:
        astore = AsyncStore(store)
        poller = CommandPoller(TOKEN, bot.api_url, Responder(astore, lambda: config), poll_interval=0.05,
                               timeout=0)
        await poller.start()
        try:
            asks = [(VENDOR, "/search Rennes"), (SOC, "/search Rennes"), (OPS, "/search Rennes"),
                    (VENDOR, "/recent"), (SOC, "/recent"), (VENDOR, "/status"), (SOC, "/status")]
            for n, (chat, text) in enumerate(asks):
                bot.queue_update(_message(chat, text, 100 + n))
            await until(lambda: len(bot.sent) >= len(asks), 20, "the answers")
        finally:
            await poller.stop()
            await astore.close()

    asyncio.run(scenario())
    answers: dict[tuple[int, str], str] = {}
    for message in bot.sent:
        asked = message.reply_to_message_id or (message.reply_parameters or {}).get("message_id")
        answers[(message.chat_id, str(asked))] = message.visible

    vendor_search, soc_search, ops_search = answers[(VENDOR, "100")], answers[(SOC, "101")], answers[(OPS, "102")]
    # the vendor chat sees the Mediboard post, nothing of the CHU de Rennes post (title, link or count)
    assert "Mediboard admin panel" in vendor_search
    assert "CHU de Rennes" not in vendor_search and "forum.invalid/1" not in vendor_search
    assert "Rennes weather" not in vendor_search and "1 stored posts" in vendor_search
    # the SOC chat receives every entry: it sees every stored post, watched or not
    assert all(title in soc_search for title in ("CHU de Rennes: 40k patients", "Mediboard admin panel",
                                                 "Rennes weather forum"))
    # a chat that receives no entry sees no post
    assert "No stored post for this chat matches" in ops_search and "CHU" not in ops_search

    vendor_recent, soc_recent = answers[(VENDOR, "103")], answers[(SOC, "104")]
    assert "Mediboard admin panel" in vendor_recent and "CHU de Rennes" not in vendor_recent
    assert "CHU de Rennes" in soc_recent and "Mediboard admin panel" in soc_recent

    vendor_status, soc_status = answers[(VENDOR, "105")], answers[(SOC, "106")]
    # source health is for every chat; the outbox line counts the vendor chat's own messages only
    assert "forum" in vendor_status and "outbox (this chat): 1 pending" in vendor_status
    assert "outbox: 3 pending" in soc_status                         # every chat's messages
