"""Evidence: the raw pages a hit was found on, kept as proof and written out as WARC 1.1.

Leak posts are deleted within days; an incident response (and a notification to the authority
within 72 hours) needs proof of what was posted. For each item that produced a hit, the pages
fetched for it in that poll (the listing page and, when followed, the item page) are kept with
their URL, fetch time, HTTP status, response headers and SHA-256, zlib-compressed, until
``[privacy] keep_evidence``. Evidence is never masked (it is the proof) and never sent anywhere:
``leakmon evidence HIT_ID --out FILE`` writes it to a local file.

Headers that carry secrets or session state (Set-Cookie, and anything naming a token or an
authorization) are dropped before anything is kept. The body kept is the body as decoded
(Content-Encoding undone, as leakmon read it), so the WARC record says so: Content-Encoding and
Content-Length describe the kept bytes, the original encoding is noted in
``X-Leakmon-Original-Content-Encoding``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from monitor.errors import StoreError

if TYPE_CHECKING:
    from monitor.fetch import Page
    from sources.contract import PageFetcher

# Response headers never kept: session state and anything that could hold a secret.
_DROPPED = frozenset({"set-cookie", "set-cookie2", "cookie", "authorization", "proxy-authorization",
                      "proxy-authenticate", "www-authenticate"})
_SECRET_WORDS = ("token", "secret", "session", "auth", "api-key", "apikey", "password")
# Describe the bytes as stored, not as they travelled.
_TRANSPORT = frozenset({"content-encoding", "transfer-encoding", "content-length"})


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Response headers worth keeping as evidence: lower-case names, secrets and cookies dropped."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key in _DROPPED or any(word in key for word in _SECRET_WORDS):
            continue
        out[key] = value
    return out


@dataclass(frozen=True)
class PageRecord:
    """One fetched page kept as evidence. ``role`` is "listing" or "item"."""

    url: str
    fetched: datetime
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    role: str = "listing"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def fetched_text(self) -> str:
        """Fixed-width ISO 8601 UTC, as the store writes every time."""
        when = self.fetched if self.fetched.tzinfo else self.fetched.replace(tzinfo=UTC)
        return when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"

    def headers_json(self) -> str:
        return json.dumps(kept_headers(self.headers), ensure_ascii=False, sort_keys=True)

    def compressed(self) -> bytes:
        return zlib.compress(self.body, 6)

    @classmethod
    def from_row(cls, role: str, url: str, fetched: str, status: int, headers: str, sha256: str,
                 body: bytes) -> PageRecord:
        """A stored row back (the body decompressed and checked against its SHA-256)."""
        try:
            raw = zlib.decompress(body)
        except zlib.error as exc:
            raise StoreError(f"evidence of {url} cannot be read (damaged database?): {exc}") from exc
        if hashlib.sha256(raw).hexdigest() != sha256:
            raise StoreError(f"evidence of {url} does not match its SHA-256 (damaged database?)")
        when = datetime.fromisoformat(fetched.replace("Z", "+00:00"))
        return cls(url=url, fetched=when, status=status, headers=json.loads(headers), body=raw, role=role)


def _warc_date(when: datetime) -> str:
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def payload_digest(body: bytes) -> str:
    """The WARC-Payload-Digest of a body: ``sha256:`` and the base32 of its SHA-256."""
    return "sha256:" + base64.b32encode(hashlib.sha256(body).digest()).decode("ascii")


def write_warc(pages: Sequence[PageRecord], out: BinaryIO, *, info: Mapping[str, str] | None = None) -> int:
    """Write ``pages`` as WARC 1.1 (gzip per record): a warcinfo record, then one response record
    per page with WARC-Target-URI, WARC-Date (the fetch time) and WARC-Payload-Digest (SHA-256 of
    the body). Returns the number of response records."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    writer = WARCWriter(out, gzip=True, warc_version="WARC/1.1")
    fields = {"software": "leakmon", "format": "WARC File Format 1.1",
              "description": "pages kept as evidence by leakmon (raw, never masked)", **(info or {})}
    writer.write_record(writer.create_warcinfo_record("leakmon-evidence.warc.gz", fields))
    for page in pages:
        headers = [(k, v) for k, v in kept_headers(page.headers).items() if k not in _TRANSPORT]
        original = page.headers.get("content-encoding")
        if original:
            headers.append(("X-Leakmon-Original-Content-Encoding", original))
        headers.append(("Content-Length", str(len(page.body))))
        try:
            reason = HTTPStatus(page.status).phrase
        except ValueError:
            reason = "Unknown"
        http_headers = StatusAndHeaders(f"{page.status} {reason}", headers, protocol="HTTP/1.1")
        record = writer.create_warc_record(
            page.url, "response", payload=io.BytesIO(page.body), length=len(page.body),
            http_headers=http_headers,
            warc_headers_dict={"WARC-Date": _warc_date(page.fetched),
                               "WARC-Payload-Digest": payload_digest(page.body),
                               "WARC-Leakmon-Role": page.role})
        writer.write_record(record)
    return len(pages)


# ---------------------------------------------------------------- which pages produced an item

class RecordingFetcher:
    """A source's Fetcher that remembers every page it fetched during one poll, so that the
    pipeline can keep, for the items that hit, the pages that produced them. The source module
    sees an ordinary Fetcher: it still only turns pages into items."""

    def __init__(self, inner: PageFetcher, clock: Callable[[], datetime] | None = None) -> None:
        self._inner = inner
        self._clock = clock or (lambda: datetime.now(UTC))
        self.origin = inner.origin
        self.fetched: list[tuple[str, PageRecord]] = []     # (URL asked for, the page)

    def same_origin(self, url: str) -> bool:
        """As the wrapped fetcher."""
        return self._inner.same_origin(url)

    async def get(self, url: str, *, conditional: bool = False) -> Page:
        """The wrapped fetcher's page, remembered with its fetch time."""
        page = await self._inner.get(url, conditional=conditional)
        self.fetched.append((url, PageRecord(url=page.url, fetched=self._clock(), status=page.status,
                                             headers=dict(page.headers), body=page.body)))
        return page


def _names(item: Any) -> list[bytes]:
    """What a listing page that shows ``item`` must contain: its link's last path segment, its id."""
    out = []
    path = urlsplit(item.url or "").path.rstrip("/")
    last = path.rsplit("/", 1)[-1]
    if len(last) >= 4:
        out.append(last.encode("utf-8", "replace"))
    if len(item.item_id) >= 4 and "://" not in item.item_id:
        out.append(item.item_id.encode("utf-8", "replace"))
    return out


def pages_for_items(items: Sequence[Any], fetched: Sequence[tuple[str, PageRecord]],
                    wanted: Iterable[str]) -> dict[str, list[PageRecord]]:
    """item_id -> the pages that produced it, for the ``wanted`` item ids: its own page (fetched for
    its text) and the listing page(s) that show it (all listing pages when none can be told apart)."""
    item_urls: dict[str, set[str]] = {}
    for item in items:
        item_urls[item.item_id] = {u for u in (item.body_url, item.url) if u}
    own_pages = {u for urls in item_urls.values() for u in urls}
    listings = [page for asked, page in fetched if asked not in own_pages and page.url not in own_pages]
    out: dict[str, list[PageRecord]] = {}
    by_id = {item.item_id: item for item in items}
    for item_id in wanted:
        item = by_id.get(item_id)
        if item is None:
            continue
        names = _names(item)
        shown = [p for p in listings if any(n in p.body for n in names)] if len(listings) > 1 else []
        pages = [replace(p, role="listing") for p in (shown or listings)]
        urls = item_urls[item_id]
        pages += [replace(page, role="item") for asked, page in fetched if asked in urls or page.url in urls]
        if pages:
            out[item_id] = pages
    return out
