"""Sending messages through python-telegram-bot 22, with its errors translated to DeliveryError.

Together with ``alerts/poller.py`` (polling the bot commands), the only code that imports ``telegram``.
What each Bot API failure becomes (the dispatcher in outbox.py decides what to do with each)::

    RetryAfter (int or timedelta)              -> DeliveryRateLimited(retry_after seconds)
    ChatMigrated                               -> DeliveryChatMigrated(new_chat_id)
    BadRequest "can't parse entities"/too long -> DeliveryBadMarkup      (resend as plain text)
    BadRequest "chat not found", Forbidden     -> DeliveryRefused        (permanent, chat-wide)
    other BadRequest                           -> DeliveryRefused        (permanent, this message)
    TimedOut                                   -> DeliveryUncertain      (may have been sent)
    NetworkError (5xx, refused, reset ...)     -> DeliveryTransient      (not sent)
    InvalidToken, other TelegramError          -> DeliveryTransient      (fixable without losing alerts)

The bot token is part of every request URL, so it can surface in PTB/httpx log records and
exception texts: it is registered with the shared redactor (``monitor.redaction``) and scrubbed
from both (``_Redactor``, ``scrub``), and httpx's per-request
INFO log (which prints the URL) is silenced.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Mapping, Sequence
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from monitor.errors import (
    DeliveryBadMarkup,
    DeliveryChatMigrated,
    DeliveryError,
    DeliveryRateLimited,
    DeliveryRefused,
    DeliveryTransient,
    DeliveryUncertain,
)
from monitor.redaction import RedactingFilter, redact, remember_secret

log = logging.getLogger(__name__)

# Loggers that may print the request URL (hence the token). Filters on a logger do not apply to
# records of its children, so each one that logs is named.
_TOKEN_LOGGERS = ("telegram", "telegram.Bot", "telegram.request.BaseRequest",
                  "telegram.request.HTTPXRequest", "httpx", "httpcore")


def scrub(exc: BaseException) -> None:
    """Redact an exception chain's messages in place, so a logged traceback or ``str(exc)`` cannot
    leak the token (registered with :func:`monitor.redaction.remember_secret` by whoever holds it)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TelegramError):
            current.message = redact(current.message)
        current.args = tuple(redact(a) if isinstance(a, str) else a for a in current.args)
        current = current.__cause__ or current.__context__


class _Redactor(RedactingFilter):
    """The shared log filter, which also scrubs the exception objects a record carries (PTB keeps
    and re-raises them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            scrub(record.exc_info[1])
        return super().filter(record)


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """An inline keyboard of (label, callback data) rows; empty rows are left out."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in row]
                                 for row in rows if row])


def _retry_after(exc: RetryAfter) -> float:
    # PTB 22.2+ warns that retry_after will become a timedelta; accept either.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def translate(exc: TelegramError) -> DeliveryError:
    """A python-telegram-bot error -> the DeliveryError that says what to do (token redacted)."""
    text = redact(str(exc))
    low = text.lower()
    if isinstance(exc, RetryAfter):
        return DeliveryRateLimited(_retry_after(exc))
    if isinstance(exc, ChatMigrated):
        return DeliveryChatMigrated(int(exc.new_chat_id))
    if isinstance(exc, BadRequest):     # before NetworkError: BadRequest is a subclass of it
        if "parse entities" in low or "too long" in low:
            return DeliveryBadMarkup(f"Telegram refused the formatting: {text}")
        if "chat not found" in low or "chat_id is empty" in low or "peer_id_invalid" in low:
            return DeliveryRefused(f"Telegram: {text}", chat_wide=True)
        if "not enough rights" in low or "have no rights" in low or "need administrator" in low:
            return DeliveryRefused(f"Telegram: {text}", chat_wide=True)
        return DeliveryRefused(f"Telegram refused the message: {text}", chat_wide=False)
    if isinstance(exc, Forbidden):
        return DeliveryRefused(f"Telegram: {text}", chat_wide=True)
    if isinstance(exc, TimedOut):
        return DeliveryUncertain(f"Telegram timed out (the message may have been sent): {text}")
    if isinstance(exc, NetworkError):
        return DeliveryTransient(f"Telegram unreachable: {text}")
    if isinstance(exc, InvalidToken):
        return DeliveryTransient(f"Telegram rejected the bot token: {text}")
    return DeliveryTransient(f"Telegram error: {text}")


class TelegramSender:
    """Sends HTML (or plain) messages to the named chats of ``[telegram.chats]``.

    ``timeout`` bounds each socket operation; the whole call is also bounded (``timeout`` x 3),
    so a server that drips bytes cannot hold the dispatcher.
    """

    local = False    # Telegram's rate limits apply

    def __init__(self, token: str, api_url: str, chats: Mapping[str, int | str], *,
                 timeout: float = 20.0) -> None:
        if not token:
            raise ValueError("TelegramSender needs a bot token")
        remember_secret(token)      # from now on every redaction removes it
        self.chats: dict[str, int | str] = dict(chats)
        self._timeout = timeout
        self._redactor = _Redactor()
        for name in _TOKEN_LOGGERS:
            logging.getLogger(name).addFilter(self._redactor)
        # httpx logs every request URL at INFO, and the URL holds the token.
        for name in ("httpx", "httpcore"):
            logger = logging.getLogger(name)
            if logger.getEffectiveLevel() < logging.WARNING:
                logger.setLevel(logging.WARNING)

        def request() -> HTTPXRequest:
            return HTTPXRequest(connection_pool_size=8, connect_timeout=min(10.0, timeout),
                                read_timeout=timeout, write_timeout=timeout, pool_timeout=5.0,
                                # the Telegram endpoint is configured by api_url, never by
                                # proxy variables of the environment
                                httpx_kwargs={"trust_env": False})

        self._bot = Bot(token, base_url=f"{api_url.rstrip('/')}/bot", request=request(),
                        get_updates_request=request())

    @property
    def bot(self) -> Bot:
        """The python-telegram-bot Bot (for the bot-commands feature)."""
        return self._bot

    async def start(self) -> None:
        """Open the HTTP client and check the token (getMe).

        Raises a DeliveryError (token redacted) when Telegram cannot be reached or refuses.
        """
        try:
            await self._bot.initialize()
        except TelegramError as exc:
            scrub(exc)
            raise translate(exc) from exc

    async def stop(self) -> None:
        """Close the HTTP client; remove the log filters."""
        try:
            await self._bot.shutdown()
        finally:
            for name in _TOKEN_LOGGERS:
                logging.getLogger(name).removeFilter(self._redactor)

    def chat_id(self, chat: str) -> int | str:
        """The configured id of a chat name; DeliveryRefused when the name is unknown."""
        try:
            return self.chats[chat]
        except KeyError:
            raise DeliveryRefused(f"chat {chat!r} is not in [telegram.chats]") from None

    async def send(self, chat: str, html: str, *, plain: bool = False,
                   chat_id: int | str | None = None, reply_to: int | None = None,
                   buttons: Sequence[Sequence[tuple[str, str]]] = ()) -> int:
        """Send one message to the chat named ``chat`` (or to ``chat_id`` when given: a migrated id).

        HTML parse mode unless ``plain``; link previews always off (a preview would make Telegram
        fetch the leak URL). ``reply_to`` threads it under that message (sent anyway if that one
        is gone); ``buttons`` is an inline keyboard of (label, callback data) rows.
        Returns the message id; raises a DeliveryError subclass.
        """
        target = chat_id if chat_id is not None else self.chat_id(chat)
        markup = keyboard(buttons) if buttons else None
        reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) \
            if reply_to is not None else None
        try:
            async with asyncio.timeout(self._timeout * 3):
                message = await self._bot.send_message(
                    chat_id=target, text=html, parse_mode=None if plain else ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                    reply_markup=markup, reply_parameters=reply)
        except TelegramError as exc:
            scrub(exc)
            raise translate(exc) from exc
        except TimeoutError as exc:
            raise DeliveryUncertain(f"Telegram did not answer within {self._timeout * 3:g}s "
                                    "(the message may have been sent)") from exc
        return int(message.message_id)
