"""Bot commands and triage buttons.

The rules (monitor.alerts.commands.Responder) are tested on a real SQLite store; the PTB
Application (CommandPoller) in-process against the fake Bot API's getUpdates; and once the whole
loop in a `leakmon run` subprocess: an alert with buttons, /status answered in the configured chat
only, "Mute 24h" holding the next alert until /unmute releases it, "False positive" shown by `hits`.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from monitor.alerts.commands import Responder, suggest_exclude
from monitor.alerts.outbox import Dispatcher
from monitor.alerts.poller import CommandPoller
from monitor.cli import main
from monitor.config import Config, load_config
from monitor.records import Hit, HitView, Item, PollRecord
from monitor.store import AsyncStore, Store
from tests.daemon_world import SOC, RunningDaemon, daemon_config, serve_feed, wait_for
from tests.fakebot import FakeBot, check_html
from tests.support.clocks import T0, Clock
from tests.support.waiting import until

CERT, OPS, STRANGER = -1002222222222, -1003333333333, -1009999999999
TOKEN = "5550003333:AAE-commands_secret-token"


def write_config(tmp_path: Path, api_url: str = "http://127.0.0.1:9") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'''
[storage]
path = "{(tmp_path / 'l.db').as_posix()}"
[telegram]
token_env = "LEAKMON_TEST_TOKEN"
api_url = "{api_url}"
commands = true
default_chats = ["soc"]
health_chats = ["ops"]
[telegram.chats]
soc = {SOC}
cert = {CERT}
ops = {OPS}
alerts = "@leak_alerts"
[[watch]]
name = "Mediboard"
terms = ["Mediboard"]
severity = "high"
[[watch]]
name = "CHU de Rennes"
terms = ["CHU de Rennes"]
chats = ["cert"]
[[source]]
name = "forum"
kind = "rss"
url = "http://127.0.0.1:9/forum.xml"
[[source]]
name = "news"
kind = "rss"
url = "http://127.0.0.1:9/news.xml"
''', encoding="utf-8")
    return path


class World:
    """A Responder on a real store, and helpers to put posts and hits in it."""

    def __init__(self, tmp_path: Path) -> None:
        self.config_path = write_config(tmp_path)
        self.config: Config = load_config(self.config_path)
        self.clock = Clock()
        self.store = Store(tmp_path / "l.db", clock=self.clock)
        self.astore = AsyncStore(self.store)
        self.responder = Responder(self.astore, lambda: self.config, clock=self.clock)
        self.watches = {w.name: w for w in self.config.watches}
        self.loop = asyncio.new_event_loop()

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def command(self, chat: str, text: str, bot: str | None = "leakmon_test_bot") -> str | None:
        answer = self.run(self.responder.command(chat, text, bot_username=bot))
        if answer is not None:
            check_html(answer)                   # Telegram would accept it: tags, escapes, 4096
        return answer

    def post(self, source: str, item_id: str, title: str, text: str, watch: str = "Mediboard",
             ok: bool = True, error: str | None = None) -> None:
        item = Item(source=source, item_id=item_id, url=f"http://{source}.invalid/{item_id}", title=title,
                    text=text, author="seller")
        term = self.watches[watch].terms[0]
        at = text.find(term)
        hits = {item_id: [Hit(watch=watch, terms=(term,), field="text", start=at, end=at + len(term))]} \
            if at >= 0 else {}
        self.store.save_poll(PollRecord(source=source, started=self.clock.now, duration=0.2, ok=ok, error=error,
                                        items=1), [item] if ok else [], hits if ok else {}, self.watches,
                             failure_threshold=3, health_chats=("ops",))

    def rows(self, state: str | None = None) -> list[tuple[int, str, str, str]]:
        sql = "SELECT id, chat, kind, state FROM outbox WHERE kind != 'health'"
        found = self.store._conn.execute(sql + " ORDER BY id").fetchall()
        return [r for r in found if state is None or r[3] == state]

    def close(self) -> None:
        self.run(self.astore.close())
        self.loop.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.close()


# ---------------------------------------------------------------- commands


def test_chats_are_known_by_id_or_channel_name_and_others_are_not(world: World) -> None:
    r = world.responder
    assert r.chat_name(SOC) == "soc" and r.chat_name(CERT) == "cert"
    assert r.chat_name(-1001234, "leak_alerts") == "alerts"
    assert r.chat_name(STRANGER) is None and r.chat_name(STRANGER, "someone_else") is None


def test_help_and_what_is_not_for_us(world: World) -> None:
    assert "/mute" in world.command("soc", "/help") and "/search" in world.command("soc", "/help")
    assert world.command("soc", "hello there") is None
    assert world.command("soc", "/weather") is None                      # maybe another bot's command
    assert world.command("soc", "/status@other_bot") is None             # addressed to another bot
    assert "Unknown command" in world.command("soc", "/weather@leakmon_test_bot")


def test_status_lists_every_source_the_outbox_and_mutes(world: World) -> None:
    world.post("forum", "1", "Mediboard dump", "Mediboard patients")
    world.post("news", "x", "", "", ok=False, error="HTTP 503 <b>gateway</b>")
    world.run(world.astore.mute("soc", "Mediboard", 3600))
    answer = world.command("soc", "/status")
    assert "✅ <code>forum</code>" in answer and "1 items" in answer
    assert "⚠️ <code>news</code>" in answer and "HTTP 503 &lt;b&gt;gateway&lt;/b&gt;" in answer
    assert "outbox (this chat): 0 pending" in answer and "1 held by mutes" in answer   # held by the mute
    assert "muted here: <b>Mediboard</b>" in answer
    assert "muted here" not in world.command("cert", "/status")          # mutes are per chat


def test_recent_shows_this_chats_hits_escaped_and_bounded(world: World) -> None:
    world.post("forum", "1", "<script>alert(1)</script> Mediboard", "Mediboard & co")
    world.post("forum", "2", "CHU de Rennes dump", "CHU de Rennes patients", watch="CHU de Rennes")
    for n in range(3, 30):
        world.post("forum", str(n), f"Mediboard leak number {n} " + "x" * 300, "Mediboard")
    soc = world.command("soc", "/recent")
    assert soc.count("📡 forum") == 5 and "CHU de Rennes" not in soc          # routed to cert only
    cert = world.command("cert", "/recent 10")
    assert cert.count("📡 forum") == 1 and "CHU de Rennes dump" in cert
    many = world.command("soc", "/recent 50")                               # capped at 20, within 4096
    assert 1 <= many.count("📡 forum") <= 20
    first = world.command("soc", "/recent 30")
    assert "<script>" not in first
    assert "Usage" in world.command("soc", "/recent lots")
    assert world.command("ops", "/recent") == "No hits for this chat yet."


def test_search_finds_stored_posts(world: World) -> None:
    # a chat searches the posts of the entries routed to it (cert: "CHU de Rennes")
    world.post("forum", "1", "Fuite CHU de Rennes", "CHU de Rennes: 38k dossiers patients", watch="CHU de Rennes")
    world.post("news", "2", "Patch Tuesday", "rien à voir")
    answer = world.command("cert", "/search patients")
    assert "Fuite CHU de Rennes" in answer and "Patch Tuesday" not in answer
    assert "No stored post for this chat matches" in world.command("cert", "/search nothinglikethis")
    assert "Usage" in world.command("cert", "/search")
    assert world.command("cert", '/search "unbalanced AND') is not None   # FTS syntax never breaks it


def test_bot_replies_mask_personal_data_in_titles(world: World) -> None:
    world.post("forum", "1", "CHU de Rennes dump, DPO jean.dupont@gmail.com 06 12 34 56 78",
               "CHU de Rennes patients", watch="CHU de Rennes")
    for answer in (world.command("cert", "/recent"), world.command("cert", "/search patients")):
        assert "CHU de Rennes dump, DPO •••@gmail.com [phone]" in answer
        assert "jean.dupont" not in answer and "06 12 34 56 78" not in answer


def test_mute_holds_alerts_and_unmute_releases_them(world: World) -> None:
    world.post("forum", "1", "Mediboard dump", "Mediboard patients")           # pending before the mute
    answer = world.command("soc", "/mute mediboard 2h")
    assert "<b>Mediboard</b> muted in this chat until 2024-11-20 12:00 UTC" in answer
    assert "1 pending alerts held" in answer
    world.post("forum", "2", "Mediboard accounts", "Mediboard admin accounts")
    held = world.rows("muted")
    assert [(chat, kind) for _, chat, kind, _ in held] == [("soc", "alert"), ("soc", "alert")]
    assert world.store.due_outbox(world.clock.now) == []                 # nothing goes out while muted
    assert "is not muted" in world.command("cert", "/unmute Mediboard")  # another chat's mute
    assert "2 held alerts follow" in world.command("soc", "/unmute Mediboard")
    due = world.store.due_outbox(world.clock.now)
    assert [r.id for r in due] == [r[0] for r in held]
    assert all(r.payload.get("muted_watch") == "Mediboard" for r in due)


def test_a_mute_ends_by_itself_and_its_alerts_are_delivered_marked(world: World, tmp_path: Path) -> None:
    world.command("soc", "/mute Mediboard 1h")
    world.post("forum", "1", "Mediboard dump", "Mediboard patients")
    assert world.store.due_outbox(world.clock.now) == []
    world.clock.now += timedelta(minutes=61)
    due = world.store.due_outbox(world.clock.now)
    assert len(due) == 1 and world.store.mutes() == []

    printed: list[str] = []

    class Printer:
        local = True

        async def send(self, chat: str, html: str, *, plain: bool = False, chat_id: Any = None) -> int:
            printed.append(html)
            return len(printed)

    report = world.run(Dispatcher(world.astore, Printer(), world.config.telegram,
                                  clock=lambda: world.clock.now.timestamp()).deliver_due())
    assert report.sent == 1 and "held during a mute" in printed[0]


def test_mute_refuses_unknown_entries_and_bad_durations(world: World) -> None:
    assert "No watch entry named Medibored" in world.command("soc", "/mute Medibored 2h")
    assert "Usage" in world.command("soc", "/mute Mediboard")
    assert "Usage" in world.command("soc", "/mute Mediboard soon")
    assert "from 1m to 90d" in world.command("soc", "/mute Mediboard 5s")
    assert "CHU de Rennes" in world.command("soc", "/mute CHU de Rennes 1d")   # names with spaces
    assert [m.watch for m in world.store.mutes("soc")] == ["CHU de Rennes"]


# ---------------------------------------------------------------- buttons


def test_mute_button_acts_only_on_its_own_chats_alert(world: World) -> None:
    world.post("forum", "1", "Mediboard dump", "Mediboard patients")
    hit_id = world.store.hits()[0].id
    refused = world.run(world.responder.callback("cert", f"mute:{hit_id}"))
    assert refused.alert and "not sent to this chat" in refused.text and world.store.mutes() == []
    answer = world.run(world.responder.callback("soc", f"mute:{hit_id}"))
    assert "Mediboard muted here for 24h" in answer.text and len(answer.text) <= 200
    (mute,) = world.store.mutes()
    assert (mute.chat, mute.watch, mute.until) == ("soc", "Mediboard", T0 + timedelta(hours=24))
    assert world.run(world.responder.callback("soc", "nonsense")) is None


def test_false_positive_button_records_suggests_and_shows_in_hits(world: World) -> None:
    world.post("forum", "1", "Cours", "Voici un Mediboard tutorial for beginners. Rien de plus.")
    (row_id, _, _, _), = world.rows()
    assert world.run(world.responder.callback("cert", f"fp:{row_id}")).alert      # not cert's alert
    assert not world.store.hits()[0].false_positive
    answer = world.run(world.responder.callback("soc", f"fp:{row_id}"))
    assert 'exclude = ["Mediboard tutorial for"]' in answer.text and len(answer.text) <= 200
    assert answer.buttons is not None and answer.buttons[-1][0][0].startswith("✅")
    assert world.store.hits()[0].false_positive
    runner = CliRunner()
    rows = json.loads(runner.invoke(main, ["--config", str(world.config_path), "hits", "--format", "json"]).stdout)
    assert rows[0]["false_positive"] is True
    table = runner.invoke(main, ["--config", str(world.config_path), "hits", "--format", "table"]).stdout
    assert "false_positive" in table.splitlines()[0] and "true" in table.splitlines()[2]


def _hit(text: str, term: str, fld: str = "text") -> HitView:
    at = text.find(term)
    item = Item(source="s", item_id="1", url="", title=text if fld == "title" else "t",
                text=text if fld == "text" else None)
    return HitView(id=1, watch="W", kind="x", severity="low", terms=(term,), field=fld, start=at, end=at + len(term),
                   retro=False, first_seen=T0, item=item)


@pytest.mark.parametrize("text, term, fld, phrase", [
    ("A Mediboard tutorial, for beginners!", "Mediboard", "text", "Mediboard tutorial for"),
    ("Learn it. Training on Mediboard.", "Mediboard", "text", "Training on Mediboard"),
    ("Mediboard", "Mediboard", "title", "Mediboard"),
    ("CHU de\nRennes is hiring nurses", "CHU de\nRennes", "text", "CHU de Rennes is hiring"),
])
def test_exclude_suggestion_is_the_words_around_the_match(text: str, term: str, fld: str, phrase: str) -> None:
    assert suggest_exclude(_hit(text, term, fld)) == phrase


# ---------------------------------------------------------------- the PTB Application on the fake Bot API


def _message(chat_id: int, text: str, message_id: int = 7) -> dict[str, Any]:
    return {"message": {"message_id": message_id, "date": int(time.time()), "text": text,
                        "chat": {"id": chat_id, "type": "supergroup", "title": "a chat"},
                        "from": {"id": 4242, "is_bot": False, "first_name": "analyst"},
                        "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]}}


def _press(chat_id: int, data: str, message_id: int = 1001) -> dict[str, Any]:
    return {"callback_query": {"id": f"q{message_id}{data}", "chat_instance": "ci", "data": data,
                               "from": {"id": 4242, "is_bot": False, "first_name": "analyst"},
                               "message": {"message_id": message_id, "date": int(time.time()), "text": "alert",
                                           "chat": {"id": chat_id, "type": "supergroup", "title": "a chat"}}}}


def test_application_polls_answers_allowed_chats_and_buttons(bot: FakeBot, world: World) -> None:
    world.post("forum", "1", "Cours", "A Mediboard tutorial for beginners.")
    (row_id, _, _, _), = world.rows()

    async def scenario() -> None:
        poller = CommandPoller(TOKEN, bot.api_url, world.responder, poll_interval=0.05, timeout=0)
        await poller.start()
        try:
            bot.queue_update(_message(STRANGER, "/status"))
            bot.queue_update(_message(SOC, "/status", message_id=8))
            bot.queue_update(_press(STRANGER, f"fp:{row_id}"))
            bot.queue_update(_press(SOC, f"fp:{row_id}"))
            await until(lambda: "answerCallbackQuery" in bot.methods() and bot.texts(SOC))
            await until(lambda: "editMessageReplyMarkup" in bot.methods())
        finally:
            await poller.stop()

    world.run(scenario())
    (answer,) = bot.sent
    assert answer.chat_id == SOC and "leakmon status" in answer.visible
    assert answer.parse_mode == "HTML" and answer.preview_disabled
    assert (answer.reply_to_message_id or (answer.reply_parameters or {}).get("message_id")) == 8
    calls = [c for c in bot.calls if c.method == "answerCallbackQuery"]
    assert len(calls) == 1 and "exclude" in calls[0].params["text"]     # the stranger's press: nothing
    assert world.store.hits()[0].false_positive
    assert all(c.token_ok for c in bot.calls)


def test_poller_start_failure_is_a_delivery_error_without_the_token(bot: FakeBot) -> None:
    from monitor.errors import DeliveryError

    bot.down()
    responder = Responder(None, lambda: None)  # type: ignore[arg-type]
    poller = CommandPoller(TOKEN, bot.api_url, responder, poll_interval=0.05, timeout=0)
    with pytest.raises(DeliveryError) as info:
        asyncio.run(poller.start())
    assert TOKEN.split(":")[1] not in str(info.value)


# ---------------------------------------------------------------- the daemon


def test_run_with_commands_answers_mutes_releases_and_records(bot: FakeBot, site, tmp_path: Path) -> None:
    items = [("n1", "Mediboard database for sale", "758k patients, a Mediboard export")]
    serve_feed(site, items)
    config = tmp_path / "config.toml"
    config.write_text(daemon_config(site.url(""), tmp_path / "l.db", bot.api_url)
                      .replace("[telegram]\n", "[telegram]\ncommands = true\n"), encoding="utf-8")
    daemon = RunningDaemon(config, bot, tmp_path / "run.log")

    def sent_to_soc(marker: str) -> list[Any]:
        return [m for m in list(bot.sent) if m.chat_id == SOC and marker in m.visible]

    def buttons(message: Any) -> dict[str, str]:
        return {b["text"]: b["callback_data"] for row in message.reply_markup["inline_keyboard"] for b in row}

    def answers() -> list[str]:
        return [c.params.get("text", "") for c in list(bot.calls) if c.method == "answerCallbackQuery"]

    try:
        wait_for(lambda: sent_to_soc("Mediboard database for sale"), 20, "the first alert")
        (alert,) = sent_to_soc("Mediboard database for sale")
        keyboard = buttons(alert)
        assert set(keyboard) == {"🔕 Mute 24h", "🚫 False positive"}

        bot.queue_update(_message(STRANGER, "/status"))
        bot.queue_update(_message(SOC, "/status"))
        wait_for(lambda: sent_to_soc("leakmon status"), 15, "the /status answer")
        assert "news" in sent_to_soc("leakmon status")[0].visible
        assert not [m for m in bot.sent if m.chat_id == STRANGER]

        bot.queue_update(_press(SOC, keyboard["🔕 Mute 24h"], alert.message_id))
        wait_for(lambda: any("muted here for 24h" in a for a in answers()), 10, "the mute answer")
        items.append(("n2", "Mediboard accounts, second dump", "Mediboard admin accounts"))
        serve_feed(site, items)

        def held() -> int:
            with sqlite3.connect(tmp_path / "l.db") as db:
                return db.execute("SELECT count(*) FROM outbox WHERE state = 'muted'").fetchone()[0]
        wait_for(lambda: held() == 1, 15, "the muted alert to be stored")
        assert not sent_to_soc("second dump")
        bot.queue_update(_message(SOC, "/unmute Mediboard"))
        wait_for(lambda: sent_to_soc("second dump"), 15, "the held alert after /unmute")
        assert "held during a mute" in sent_to_soc("second dump")[0].visible
        assert sent_to_soc("1 held alerts follow")

        bot.queue_update(_press(SOC, keyboard["🚫 False positive"], alert.message_id))
        wait_for(lambda: any("exclude" in a for a in answers()), 10, "the false positive answer")
    finally:
        code = daemon.stop(signal.SIGTERM)
    assert code == 0, daemon.output()
    assert "Traceback" not in daemon.output() and bot.token not in daemon.output()
    hits = json.loads(CliRunner().invoke(main, ["--config", str(config), "hits", "--format", "json"]).stdout)
    assert [h["false_positive"] for h in sorted(hits, key=lambda h: h["id"])] == [True, False]
