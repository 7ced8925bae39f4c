"""The Sender protocol, the console sender, and the choice between console and Telegram.

Without a bot token (its environment variable unset or empty) or without any chat in
``[telegram.chats]``, alerts are printed to stdout, so leakmon runs out of the box.
"""

from __future__ import annotations

import itertools
import sys
from typing import Protocol, TextIO

from monitor.alerts.render import to_plain
from monitor.config import TelegramConfig

SEPARATOR = "─" * 60


class Sender(Protocol):
    """What the dispatcher needs from a way of sending messages."""

    async def start(self) -> None:
        """Open connections (may raise DeliveryError)."""

    async def stop(self) -> None:
        """Close connections."""

    async def send(self, chat: str, html: str, *, plain: bool = False,
                   chat_id: int | str | None = None) -> int:
        """Send one message to the named chat; return its message id or raise DeliveryError."""


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
                   chat_id: int | str | None = None) -> int:
        """Print the message (as plain text) for ``chat``; returns a local message number."""
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
    from monitor.alerts.telegram import TelegramSender   # python-telegram-bot only when needed

    return TelegramSender(token, telegram_config.api_url, telegram_config.chats)
