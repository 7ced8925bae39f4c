"""TelegramSender against the fake Bot API on loopback: what is sent, and each error's translation."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter

from monitor.alerts.console import ConsoleSender, make_sender
from monitor.alerts.telegram import TelegramSender, translate
from monitor.config import TelegramConfig
from monitor.errors import (
    DeliveryBadMarkup,
    DeliveryChatMigrated,
    DeliveryError,
    DeliveryRateLimited,
    DeliveryRefused,
    DeliveryTransient,
    DeliveryUncertain,
)
from monitor.redaction import redact
from tests.fakebot import FakeBot
from tests.support.waiting import until

TOKEN = "7412589630:AAH-secret_T0ken-do-not-leak"
CHATS = {"soc": -1001234567890, "ops": -1009876543210, "analyst": 424242, "channel": "@leak_alerts"}



def run(bot: FakeBot, body: Callable[[TelegramSender], Awaitable[Any]], **kwargs: Any) -> Any:
    """Start a sender against the fake, run ``body``, stop the sender."""
    async def main() -> Any:
        sender = TelegramSender(TOKEN, bot.api_url, CHATS, **kwargs)
        await sender.start()
        try:
            return await body(sender)
        finally:
            await sender.stop()
    return asyncio.run(main())


def failure(bot: FakeBot, chat: str = "soc", html: str = "<b>alert</b>",
            arm: Callable[[], None] = lambda: None, **kwargs: Any) -> DeliveryError:
    """The error of one send, with ``arm`` flipping the fake's switch after start (getMe)."""
    async def body(sender: TelegramSender) -> DeliveryError:
        arm()
        with pytest.raises(DeliveryError) as info:
            await sender.send(chat, html)
        return info.value
    return run(bot, body, **kwargs)


def no_token_in(exc: BaseException) -> None:
    text = "".join(traceback.format_exception(exc))
    assert TOKEN not in text
    assert TOKEN.split(":")[1] not in text


def test_sends_html_with_previews_disabled(bot: FakeBot) -> None:
    html = '🔴 <b>HIGH</b> <a href="http://x.onion/t?a=1&amp;b=2">FR hospital</a>'
    message_id = run(bot, lambda s: s.send("soc", html))
    assert [c.method for c in bot.calls] == ["getMe", "sendMessage"]
    (sent,) = bot.sent
    assert sent.message_id == message_id
    assert sent.chat_id == CHATS["soc"]
    assert sent.text == html
    assert sent.parse_mode == "HTML"
    assert sent.preview_disabled is True
    assert sent.visible == "🔴 HIGH FR hospital"


def test_plain_text_and_channel_names(bot: FakeBot) -> None:
    async def body(sender: TelegramSender) -> None:
        await sender.send("channel", "1 < 2 & <b>not markup</b>", plain=True)
        await sender.send("analyst", "<i>hi</i>", chat_id=555)      # an explicit (migrated) id wins
    run(bot, body)
    first, second = bot.sent
    assert first.chat_id == "@leak_alerts" and first.parse_mode is None
    assert first.visible == "1 < 2 & <b>not markup</b>" and first.preview_disabled
    assert second.chat_id == 555


def test_rate_limit_becomes_a_pause(bot: FakeBot) -> None:
    exc = failure(bot, arm=lambda: bot.rate_limit(retry_after=7))
    assert isinstance(exc, DeliveryRateLimited) and exc.retry_after == 7.0


def test_retry_after_as_timedelta() -> None:
    exc = translate(RetryAfter(timedelta(seconds=42)))
    assert isinstance(exc, DeliveryRateLimited) and exc.retry_after == 42.0


def test_chat_migrated(bot: FakeBot) -> None:
    bot.migrate(CHATS["soc"], -100555)
    exc = failure(bot)
    assert isinstance(exc, DeliveryChatMigrated) and exc.new_chat_id == -100555


def test_chat_not_found_and_forbidden_are_refusals(bot: FakeBot) -> None:
    bot.chat_not_found(CHATS["soc"])
    bot.forbidden(CHATS["ops"])
    exc = failure(bot, "soc")
    assert isinstance(exc, DeliveryRefused) and exc.chat_wide and "chat not found" in exc.reason.lower()
    exc = failure(bot, "ops")
    assert isinstance(exc, DeliveryRefused) and exc.chat_wide and "kicked" in exc.reason


def test_unconfigured_chat_name_is_refused(bot: FakeBot) -> None:
    exc = failure(bot, "nowhere")
    assert isinstance(exc, DeliveryRefused)
    assert bot.methods() == ["getMe"]


@pytest.mark.parametrize("html", ["<script>alert(1)</script>", "AT&T", "<b>unclosed", "x" * 5000])
def test_markup_refusals(bot: FakeBot, html: str) -> None:
    exc = failure(bot, html=html)
    assert isinstance(exc, DeliveryBadMarkup)


def test_server_errors_and_refused_connections_are_transient(bot: FakeBot) -> None:
    assert isinstance(failure(bot, arm=lambda: bot.fail_5xx(count=1)), DeliveryTransient)

    async def body(sender: TelegramSender) -> None:
        bot.down()
        try:
            with pytest.raises(DeliveryTransient) as info:
                await sender.send("soc", "<b>x</b>")
            no_token_in(info.value)
        finally:
            bot.up()
        await sender.send("soc", "<b>after</b>")    # same port, works again
    run(bot, body)
    assert bot.texts() == ["<b>after</b>"]


def test_late_answer_is_uncertain_and_the_message_may_have_gone(bot: FakeBot) -> None:
    async def body(sender: TelegramSender) -> None:
        bot.delay(1.0, count=1)
        with pytest.raises(DeliveryUncertain):
            await sender.send("soc", "<b>slow</b>")
    run(bot, body, timeout=0.3)
    asyncio.run(until(lambda: bot.sent, 3.0, "the late message"))
    assert bot.texts() == ["<b>slow</b>"]   # Telegram got it anyway: at-least-once


def test_wrong_token_fails_at_start_without_showing_it(bot: FakeBot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def main() -> None:
        sender = TelegramSender("999:WRONG-secret-token", bot.api_url, CHATS)
        try:
            with pytest.raises(DeliveryError) as info:
                await sender.start()
        finally:
            await sender.stop()
        text = "".join(traceback.format_exception(info.value))
        assert "WRONG-secret-token" not in text
        assert "token" in str(info.value).lower()
    asyncio.run(main())
    assert "WRONG-secret-token" not in caplog.text
    assert caplog.records            # PTB did log at DEBUG: the filter redacted, not silenced


def test_token_never_in_errors_or_logs(bot: FakeBot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[DeliveryError] = []

    async def body(sender: TelegramSender) -> None:
        await sender.send("soc", "<b>ok</b>")
        for arm in (lambda: bot.fail_5xx(1), lambda: bot.rate_limit(3),
                    lambda: bot.chat_not_found(CHATS["ops"]), lambda: None):
            arm()
            chat = "ops" if len(errors) == 2 else "soc"
            try:
                await sender.send(chat, "<b>x" if len(errors) == 3 else "<b>x</b>")
            except DeliveryError as exc:
                errors.append(exc)
        bot.down()
        try:
            await sender.send("soc", "<b>x</b>")
        except DeliveryError as exc:
            errors.append(exc)
        bot.up()
    run(bot, body)
    assert [type(e) for e in errors] == [DeliveryTransient, DeliveryRateLimited, DeliveryRefused,
                                         DeliveryBadMarkup, DeliveryTransient]
    for exc in errors:
        no_token_in(exc)
    assert caplog.records
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text


def test_the_sender_token_is_removed_by_the_shared_redactor(bot: FakeBot) -> None:
    # The token is not shaped like a real one here (too short a secret), so only its value can
    # find it: the sender registers it with monitor.redaction, which every log line goes through.
    token = "4242:AAE-short-sender-secret"
    TelegramSender(token, bot.api_url, CHATS)
    assert token not in redact(f"GET {bot.api_url}/bot{token}/getMe failed")
    assert token not in redact(f"error quoting {token} bare")


def test_make_sender_picks_console_without_token_or_chats(monkeypatch: pytest.MonkeyPatch,
                                                          bot: FakeBot) -> None:
    config = TelegramConfig(token_env="LEAKMON_TEST_TOKEN", api_url=bot.api_url, chats=CHATS)
    monkeypatch.delenv("LEAKMON_TEST_TOKEN", raising=False)
    assert isinstance(make_sender(config), ConsoleSender)
    monkeypatch.setenv("LEAKMON_TEST_TOKEN", "  ")
    assert isinstance(make_sender(config), ConsoleSender)
    monkeypatch.setenv("LEAKMON_TEST_TOKEN", TOKEN)
    assert isinstance(make_sender(TelegramConfig(token_env="LEAKMON_TEST_TOKEN", chats={})), ConsoleSender)
    sender = make_sender(config)
    assert isinstance(sender, TelegramSender)

    async def main() -> None:
        await sender.start()
        try:
            await sender.send("ops", "<b>via config</b>")
        finally:
            await sender.stop()
    asyncio.run(main())
    assert bot.sent[0].chat_id == CHATS["ops"]


def test_console_sender_prints_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    sender = ConsoleSender()

    async def main() -> tuple[int, int]:
        first = await sender.send("soc", '<b>HIGH</b> <a href="http://x.onion/?a=1&amp;b=2">T &lt;1&gt;</a>')
        second = await sender.send("ops", "already plain <b>", plain=True)
        return first, second
    first, second = asyncio.run(main())
    out = capsys.readouterr().out
    assert "[soc]" in out and "HIGH T <1> (http://x.onion/?a=1&b=2)" in out
    assert "already plain <b>" in out
    assert first != second
