"""HTTP fetching: the only module that imports httpx.

STUB: interface agreed between modules; to be implemented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from monitor.config import NetworkConfig, SourceConfig


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


class Fetcher:
    """One source's view of the network: its origin, proxy, headers, cookies.

    ``get`` raises FetchError (reason in words), OffOriginError for a URL outside the source's
    origin, and NotModified when ``conditional`` and the server answers 304.
    """

    origin: str

    async def get(self, url: str, *, conditional: bool = False) -> Page:
        raise NotImplementedError

    def same_origin(self, url: str) -> bool:
        raise NotImplementedError


class Network:
    """Shared by all sources: concurrency limit, per-host delay, one httpx client per proxy."""

    def __init__(self, config: NetworkConfig) -> None:
        self.config = config

    def fetcher(self, src: SourceConfig) -> Fetcher:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError
