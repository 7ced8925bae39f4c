"""One fetched response (:class:`Page`), in a module of its own: pages travel to the parse worker
processes, which then import this and not the HTTP client (~0.1 s less to start a worker)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Page"]


@dataclass(frozen=True)
class Page:
    """One fetched response. ``url`` is the final URL after (same-origin) redirects."""

    url: str
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)   # lower-case names

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        """The charset named by Content-Type, if any."""
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip('"').lower()
        return None
