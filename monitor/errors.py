"""The one exception tree of leakmon.

Every error that crosses a module boundary is one of these; third-party errors
(httpx, sqlite3, telegram) are translated where they happen with ``raise ... from exc``::

    LeakmonError
    ├── ConfigError        the config file is wrong: names the file, the key path and the problem
    ├── FetchError         a request failed; ``reason`` is words fit for `status` ("HTTP 503", ...)
    │   └── OffOriginError a link or redirect leaves the source's origin: never fetched
    ├── NotModified        the server answered 304 to a conditional request (not a failure)
    ├── ParseError         a page is not what the source expects (login page, no items, junk)
    ├── StoreError         SQLite refused or failed
    └── DeliveryError      an alert could not be sent (Telegram, console)
"""

from __future__ import annotations


class LeakmonError(Exception):
    """Base of every error leakmon raises on purpose."""


class ConfigError(LeakmonError):
    """A mistake in the config: ``file: key.path: problem``."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {problem}")


class FetchError(LeakmonError):
    """A request failed. ``reason`` is short words for `status` and health messages."""

    def __init__(self, reason: str, url: str = "") -> None:
        self.reason = reason
        self.url = url
        super().__init__(reason)


class OffOriginError(FetchError):
    """A URL outside the source's own origin (scheme, host, port): never fetched."""


class NotModified(LeakmonError):
    """A conditional request found the page unchanged (HTTP 304)."""


class ParseError(LeakmonError):
    """A page is not what its source expects; the message is the reason in words."""

    @property
    def reason(self) -> str:
        return str(self)


class StoreError(LeakmonError):
    """The SQLite store failed."""


class DeliveryError(LeakmonError):
    """An alert could not be delivered."""
