"""The one exception tree of leakmon.

Every error that crosses a module boundary is one of these; third-party errors
(httpx, sqlite3, telegram) are translated where they happen with ``raise ... from exc``.
Each carries ``reason``: short words fit for logs, `status` and health messages::

    LeakmonError
    ├── ConfigError        the config file is wrong: names the file, the key path and the problem
    ├── FetchError         a request failed; ``reason`` is words fit for `status` ("HTTP 503", ...),
    │                      ``status`` the HTTP status code when the server answered one
    │   └── OffOriginError a link or redirect leaves the source's origin: never fetched
    ├── NotModified        the server answered 304 to a conditional request (not a failure)
    ├── ParseError         a page is not what the source expects (login page, no items, junk)
    ├── StoreError         SQLite refused or failed
    └── DeliveryError      an alert could not be sent (Telegram, console); ``reason`` in words
        ├── DeliveryTransient    not sent (network error, 5xx, connection refused): retry with backoff
        ├── DeliveryUncertain    timed out: may have been sent; retried (at-least-once)
        ├── DeliveryRateLimited  429: ``retry_after`` seconds; pauses ALL sending
        ├── DeliveryBadMarkup    the HTML was refused (can't parse entities, too long): resend as plain text
        ├── DeliveryChatMigrated the group became a supergroup: resend to ``new_chat_id``
        └── DeliveryRefused      permanent (chat not found, bot blocked or kicked): parked
"""

from __future__ import annotations


class LeakmonError(Exception):
    """Base of every error leakmon raises on purpose; ``reason`` is its message in words."""

    def __init__(self, reason: str = "") -> None:
        self.reason = reason
        super().__init__(reason)


class ConfigError(LeakmonError):
    """A mistake in the config: ``file: key.path: problem``."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {problem}")


class FetchError(LeakmonError):
    """A request failed. ``reason`` is short words for `status` and health messages; ``status`` is
    the HTTP status code the server answered (None when no answer came: timeout, connection, size)."""

    def __init__(self, reason: str, url: str = "", *, status: int | None = None) -> None:
        super().__init__(reason)
        self.url = url
        self.status = status


class OffOriginError(FetchError):
    """A URL outside the source's own origin (scheme, host, port): never fetched."""


class NotModified(LeakmonError):
    """A conditional request found the page unchanged (HTTP 304)."""


class ParseError(LeakmonError):
    """A page is not what its source expects; the message is the reason in words."""


class StoreError(LeakmonError):
    """The SQLite store failed."""


class DeliveryError(LeakmonError):
    """An alert could not be delivered."""


class DeliveryTransient(DeliveryError):
    """The message was NOT sent (network error, HTTP 5xx, connection refused): retry later."""


class DeliveryUncertain(DeliveryError):
    """The request timed out: the message MAY have been sent. Retried anyway (at-least-once)."""


class DeliveryRateLimited(DeliveryError):
    """Telegram answered 429: nothing may be sent to any chat for ``retry_after`` seconds."""

    def __init__(self, retry_after: float, reason: str = "") -> None:
        self.retry_after = float(retry_after)
        super().__init__(reason or f"rate limited by Telegram: retry after {self.retry_after:g}s")


class DeliveryBadMarkup(DeliveryError):
    """Telegram refused the message's HTML (can't parse entities, too long): resend as plain text."""


class DeliveryChatMigrated(DeliveryError):
    """The group was upgraded to a supergroup with ``new_chat_id``: resend there."""

    def __init__(self, new_chat_id: int, reason: str = "") -> None:
        self.new_chat_id = new_chat_id
        super().__init__(reason or f"chat migrated to {new_chat_id}")


class DeliveryRefused(DeliveryError):
    """Telegram refuses for good (chat not found, bot blocked or kicked, bad request): park the message.

    ``chat_wide`` is True when every message to that chat would be refused the same way.
    """

    def __init__(self, reason: str, *, chat_wide: bool = True) -> None:
        super().__init__(reason)
        self.chat_wide = chat_wide
