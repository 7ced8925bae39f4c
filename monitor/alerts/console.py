"""The Sender protocol, the console sender, and the choice between console and Telegram.

Without a bot token (its environment variable unset or empty) or without any chat in
``[telegram.chats]``, alerts are printed to stdout, so leakmon runs out of the box.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Sequence
from typing import Protocol, TextIO

from monitor.alerts.htmltext import to_plain
from monitor.config import TelegramConfig

SEPARATOR = "─" * 60


Buttons = Sequence[Sequence[tuple[str, str]]]
"""An inline keyboard: rows of (label, callback data)."""


class Sender(Protocol):
    """Every member the dispatcher uses on a way of sending messages."""

    # True for a sender that prints here: no Telegram rate limits, no chat ids, and the
    # dispatcher passes no ``reply_to`` nor ``buttons`` (they mean something on Telegram only).
    local: bool

    async def start(self) -> None:
        """Open connections (may raise DeliveryError)."""

    async def stop(self) -> None:
        """Close connections."""

    async def send(self, chat: str, html: str, *, plain: bool = False,
                   chat_id: int | str | None = None, reply_to: int | None = None,
                   buttons: Buttons = ()) -> int:
        """Send one message to the named chat; return its message id or raise DeliveryError.

        ``plain`` sends ``html`` as text, ``chat_id`` overrides the configured id of ``chat``,
        ``reply_to`` threads the message under an earlier one, ``buttons`` is an inline keyboard.
        """


class ConsoleSender:
    """Prints each message as plain text between separator lines. Never fails."""

    local = True     # the dispatcher skips Telegram's rate limits and chat-id checks

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._ids = itertools.count(1)

    async def start(self) -> None:
        """Nothing to open."""

    async def stop(self) -> None:
        """Nothing to close."""

    async def send(self, chat: str, html: str, *, plain: bool = False,
                   chat_id: int | str | None = None, reply_to: int | None = None,
                   buttons: Buttons = ()) -> int:
        """Print the message (as plain text) for ``chat``; returns a local message number.

        ``reply_to`` and ``buttons`` are accepted for the protocol and ignored: a console has neither.
        """
        stream = self._stream or sys.stdout     # looked up late: tests and the CLI swap stdout
        text = html if plain else to_plain(html)
        stream.write(f"{SEPARATOR}\n[{chat}]\n{text}\n")
        stream.flush()
        return next(self._ids)


def make_sender(telegram_config: TelegramConfig) -> Sender:
    """A TelegramSender when a token and at least one chat are configured, else a ConsoleSender."""
    token = telegram_config.token()
    if not token or not telegram_config.chats:
        return ConsoleSender()
    from monitor.alerts.telegram import TelegramSender  # python-telegram-bot only when needed

    return TelegramSender(token, telegram_config.api_url, telegram_config.chats)
