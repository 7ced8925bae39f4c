"""The bot commands in Telegram: python-telegram-bot's ``Application`` polling getUpdates inside
the ``run`` process for a :class:`~monitor.alerts.commands.Responder`.

Each update's chat is mapped to its configured name; every other chat is ignored without a reply.
Answers go out with link previews off, as replies to the command.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from monitor.alerts.commands import Responder
from monitor.errors import DeliveryError, DeliveryTransient
from monitor.redaction import redact, remember_secret

log = logging.getLogger("leakmon.commands")

POLL_INTERVAL = 0.5                  # seconds between two getUpdates when one returns at once
POLL_TIMEOUT = 10                    # long-poll seconds Telegram may hold a getUpdates
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


class CommandPoller:
    """python-telegram-bot's Application polling getUpdates for the Responder, in this process.

    ``start()`` raises a DeliveryError (token redacted) when Telegram cannot be reached; ``stop()``
    never raises and is bounded in time.
    """

    def __init__(self, token: str, api_url: str, responder: Responder, *,
                 poll_interval: float = POLL_INTERVAL, timeout: int = POLL_TIMEOUT) -> None:
        from telegram import Update
        from telegram.ext import Application, TypeHandler
        from telegram.request import HTTPXRequest

        remember_secret(token)      # every redaction removes it from now on
        self.responder = responder
        self._poll_interval = poll_interval
        self._timeout = timeout

        def request(read_timeout: float) -> HTTPXRequest:
            # the endpoint is [telegram] api_url, never a proxy from the environment
            return HTTPXRequest(connection_pool_size=4, connect_timeout=10.0, read_timeout=read_timeout,
                                write_timeout=10.0, pool_timeout=5.0, httpx_kwargs={"trust_env": False})

        self.app = (Application.builder().token(token).base_url(f"{api_url.rstrip('/')}/bot")
                    .request(request(20.0)).get_updates_request(request(timeout + 10.0))
                    .job_queue(None).build())
        self.app.add_handler(TypeHandler(Update, self._on_update))
        self.app.add_error_handler(self._on_error)

    async def start(self) -> None:
        """getMe, then poll in the background."""
        from telegram.error import TelegramError

        from monitor.alerts.telegram import scrub, translate

        try:
            async with asyncio.timeout(START_TIMEOUT):
                await self.app.initialize()
                await self.app.start()
                assert self.app.updater is not None
                await self.app.updater.start_polling(
                    poll_interval=self._poll_interval, timeout=self._timeout,
                    allowed_updates=["message", "channel_post", "callback_query"],
                    error_callback=self._on_poll_error)
        except TelegramError as exc:
            scrub(exc)
            await self.stop()
            raise translate(exc) from exc
        except (TimeoutError, OSError) as exc:
            await self.stop()
            raise DeliveryTransient(f"bot commands could not start: {type(exc).__name__}") from exc

    async def stop(self) -> None:
        """Stop polling and close the client (the last fetched updates are marked read)."""
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                if self.app.updater is not None and self.app.updater.running:
                    await self.app.updater.stop()
                if self.app.running:
                    await self.app.stop()
                await self.app.shutdown()
        except Exception as exc:  # noqa: BLE001 - stopping must never stop the daemon's own shutdown
            log.warning("bot commands: stop: %s", type(exc).__name__)

    # ------------------------------------------------------------ PTB callbacks

    def _on_poll_error(self, exc: Exception) -> None:
        # Called for each failed getUpdates (PTB retries on its own): one short line, no token.
        log.warning("bot commands: getUpdates failed: %s", redact(str(exc)))

    async def _on_error(self, update: object, context: Any) -> None:
        error = getattr(context, "error", None)
        log.error("bot commands: %s: %s", type(error).__name__, redact(str(error)))

    async def _on_update(self, update: Any, context: Any) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        name = self.responder.chat_name(chat.id, chat.username)
        if name is None:
            return                      # not a configured chat: ignored, no reply
        if update.callback_query is not None:
            await self._answer_button(update.callback_query, name)
            return
        message = update.effective_message
        text = getattr(message, "text", None)
        if not text or not text.startswith("/"):
            return
        html = await self.responder.command(name, text, bot_username=context.bot.username)
        if html:
            await self._reply(context.bot, chat.id, message.message_id, html)

    async def _reply(self, bot: Any, chat_id: int, message_id: int, html: str) -> None:
        from telegram import LinkPreviewOptions, ReplyParameters
        from telegram.constants import ParseMode
        from telegram.error import TelegramError

        from monitor.alerts.telegram import scrub, translate

        try:
            await bot.send_message(chat_id=chat_id, text=html, parse_mode=ParseMode.HTML,
                                   link_preview_options=LinkPreviewOptions(is_disabled=True),
                                   reply_parameters=ReplyParameters(message_id=message_id,
                                                                    allow_sending_without_reply=True))
        except TelegramError as exc:
            scrub(exc)
            error: DeliveryError = translate(exc)
            log.warning("bot commands: answer not sent: %s", error.reason)

    async def _answer_button(self, query: Any, chat: str) -> None:
        from telegram.error import TelegramError

        from monitor.alerts.telegram import keyboard, scrub, translate

        answer = await self.responder.callback(chat, query.data or "")
        try:
            if answer is None:
                await query.answer()
                return
            await query.answer(text=answer.text, show_alert=answer.alert)
            if answer.buttons is not None and query.message is not None:
                await query.edit_message_reply_markup(keyboard(answer.buttons))
        except TelegramError as exc:
            scrub(exc)
            log.warning("bot commands: button answer failed: %s",
                        translate(exc).reason)
