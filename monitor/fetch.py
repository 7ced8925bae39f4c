"""HTTP fetching: with its helpers ``monitor/origins.py`` (origin rules, proxies, no shared
cookies), ``monitor/httperrors.py`` (errors in words) and ``monitor/fetchdecode.py`` (bounded
decoding), the only modules that import httpx.

A :class:`Network` is shared by all sources: it holds the global concurrency limit, the per-host
gap between request starts, the conditional-request validators (a
:class:`monitor.validators.ValidatorCache`) and one ``httpx.AsyncClient`` per distinct proxy URL.
``Network.fetcher(src)`` gives a source its :class:`Fetcher`, which enforces these network-safety
rules:

- only the source's own origin (scheme, host, port) is ever fetched, redirects included;
- the source's headers and cookies go to that origin only (there are no client-level cookies);
- a source with a proxy never connects directly, and environment proxy variables are ignored;
- the whole request has one deadline, and the body is size-capped while streaming, after
  decompression too (we decompress ourselves, with a bound, because httpx would not);
- every httpx error is translated into a :class:`FetchError` whose ``reason`` is short words,
  with no cookie, header or proxy credential in it.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import logging
import ssl
import time

import httpx

from monitor.configtypes import NetworkConfig
from monitor.errors import FetchError, NotModified, OffOriginError
from monitor.fetchdecode import ACCEPT_ENCODING, Decoder
from monitor.httperrors import short_error, translate_error
from monitor.origins import DEFAULT_PORTS, NoCookies, Origin, origin_of, origin_text, parse_url, source_proxy
from monitor.page import Page
from monitor.redaction import redact
from monitor.sourceconfig import SourceConfig
from monitor.validators import ValidatorCache

__all__ = ["Fetcher", "Network", "Page", "redact"]

log = logging.getLogger(__name__)

# httpx logs every request at INFO with its full URL (tokens, onion addresses): keep it quiet.
logging.getLogger("httpx").setLevel(logging.WARNING)

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_MAX_REASON_URL = 200


# ---------------------------------------------------------------- redaction

def _show_url(url: str) -> str:
    shown = redact(url)
    return shown if len(shown) <= _MAX_REASON_URL else shown[:_MAX_REASON_URL] + "..."


# ---------------------------------------------------------------- the shared network

class _DirectTransport(httpx.AsyncBaseTransport):
    """Direct connections (no proxy): plain-HTTP requests never use TLS, so loading the CA bundle
    (~0.1 s at every start) waits for the first https request. Certificates are verified exactly
    as by httpx's default transport; the plain-HTTP transport holds a context that trusts no
    certificate at all, in case anything ever asked it for TLS."""

    def __init__(self) -> None:
        self._plain = httpx.AsyncHTTPTransport(verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), trust_env=False)
        self._tls: httpx.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "http":
            return await self._plain.handle_async_request(request)
        if self._tls is None:
            self._tls = httpx.AsyncHTTPTransport(trust_env=False)      # verify=True: the CA bundle
        return await self._tls.handle_async_request(request)

    async def aclose(self) -> None:
        await self._plain.aclose()
        if self._tls is not None:
            await self._tls.aclose()


class Network:
    """Shared by all sources: concurrency limit, per-host delay, one httpx client per proxy."""

    def __init__(self, config: NetworkConfig, validators: ValidatorCache | None = None) -> None:
        self.config = config
        self._clients: dict[str | None, httpx.AsyncClient] = {}
        self._semaphore: asyncio.Semaphore | None = None
        self._host_locks: dict[str, asyncio.Lock] = {}
        self._host_last: dict[str, float] = {}
        # ETag, Last-Modified and body digest of each (source, url): the fetchers read and feed it,
        # the pipeline loads and settles it around a poll.
        self.validator_cache = validators if validators is not None else ValidatorCache()

    def fetcher(self, src: SourceConfig) -> Fetcher:
        """The Fetcher of one source (cheap: create one per poll or keep it)."""
        return Fetcher(self, src)

    async def aclose(self) -> None:
        """Close every client. The Network may be used again afterwards, even from another event
        loop: clients, the semaphore and the host locks (all bound to a loop) are re-created."""
        clients, self._clients = list(self._clients.values()), {}
        self._semaphore = None
        self._host_locks = {}
        for client in clients:
            await client.aclose()

    # -- used by Fetcher

    def _client(self, proxy: str | None) -> httpx.AsyncClient:
        """The client for a proxy URL, created lazily (inside the running loop)."""
        client = self._clients.get(proxy)
        if client is None:
            try:
                client = httpx.AsyncClient(
                    proxy=proxy,
                    transport=_DirectTransport() if proxy is None else None,
                    trust_env=False,            # HTTP_PROXY / ALL_PROXY / NO_PROXY never reroute
                    follow_redirects=False,     # we follow redirects ourselves, origin-checked
                    headers={"User-Agent": self.config.user_agent},
                    cookies=http.cookiejar.CookieJar(policy=NoCookies()),
                    timeout=httpx.Timeout(self.config.timeout),
                )
            except (ValueError, ImportError) as exc:
                # Never fall back to a direct connection: the poll fails instead.
                raise FetchError(f"unusable proxy {_show_url(proxy or '')}: {short_error(exc)}") from exc
            self._clients[proxy] = client
        return client

    async def _start_slot(self, host: str) -> asyncio.Semaphore:
        """Wait for the host gap (without holding a concurrency slot), then take a slot.

        Returns the acquired semaphore; the caller releases it. The host lock is held until the
        slot is taken, so starts to one host happen in order and at least ``host_delay`` apart.
        """
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.config.concurrency)
        lock = self._host_locks.setdefault(host, asyncio.Lock())
        async with lock:
            wait = self._host_last.get(host, -1e18) + self.config.host_delay - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await self._semaphore.acquire()
            self._host_last[host] = time.monotonic()
        return self._semaphore


# ---------------------------------------------------------------- one source's view

class Fetcher:
    """One source's view of the network: its origin, proxy, headers, cookies.

    ``get`` raises FetchError (reason in words), OffOriginError for a URL outside the source's
    origin, and NotModified when ``conditional`` and the server answers 304.
    """

    origin: str

    def __init__(self, network: Network, src: SourceConfig) -> None:
        self.network = network
        self.source = src.name
        self._url = src.url
        self._base = parse_url(src.url)
        origin = origin_of(self._base) if self._base is not None else None
        if self._base is None or origin is None:
            raise FetchError(f"not an http(s) URL: {_show_url(src.url)}", redact(src.url))
        self.origin_tuple: Origin = origin
        self.origin = origin_text(origin)
        self.proxy = source_proxy(src.proxy, src.name)
        self._headers = dict(src.headers)
        self._cookies_of = src.cookies

    def same_origin(self, url: str) -> bool:
        """True when ``url`` (absolute, or relative to the source URL) is on the source's origin."""
        return self._resolve(url) is not None

    def _resolve(self, url: str | httpx.URL, base: httpx.URL | None = None) -> httpx.URL | None:
        # The source's own URL (every poll's first request) was parsed when the fetcher was made:
        # the hundreds of polls of a `once` each check it before the first responses are read.
        parsed = self._base if base is None and isinstance(url, str) and url == self._url else parse_url(url)
        base = base or self._base
        if parsed is None or base is None:
            return None
        if parsed.is_relative_url:
            try:
                parsed = base.join(parsed)
            except (httpx.InvalidURL, ValueError):
                return None
        if origin_of(parsed) != self.origin_tuple:
            return None
        # Credentials in a scraped link are never sent; fragments never leave the client. A URL
        # with neither is the URL a copy without them would rebuild (~50 us of httpx parsing).
        if not parsed.userinfo and not parsed.fragment:
            return parsed
        return parsed.copy_with(username=None, password=None, fragment=None)

    def _check(self, url: str | httpx.URL, what: str, base: httpx.URL | None = None) -> httpx.URL:
        target = self._resolve(url, base)
        if target is None:
            shown = _show_url(str(url))
            parsed = parse_url(url)
            if parsed is not None and parsed.scheme and parsed.scheme.lower() not in DEFAULT_PORTS:
                raise OffOriginError(f"not an http(s) {what}: {shown}", shown)
            raise OffOriginError(f"{what} to another origin: {shown}", shown)
        return target

    def _request_headers(self, url: str, conditional: bool) -> dict[str, str]:
        headers = dict(self._headers)
        cookies = self._cookies_of()
        if cookies:
            headers["Cookie"] = cookies          # only ever sent here, i.e. to the source's origin
        # We decode ourselves with a bound, so we decide what the server may use.
        for key in [k for k in headers if k.lower() == "accept-encoding"]:
            del headers[key]
        headers["Accept-Encoding"] = ACCEPT_ENCODING
        if conditional:
            validator = self.network.validator_cache.validator(self.source, url)
            if validator is not None:
                etag, modified = validator
                if etag:
                    headers["If-None-Match"] = etag
                if modified:
                    headers["If-Modified-Since"] = modified
        return headers

    async def get(self, url: str, *, conditional: bool = False) -> Page:
        """Fetch ``url`` from the source's origin.

        Redirects are followed (same origin only, at most ``max_redirects``); the network time of
        the whole request, redirects included, is bounded by ``timeout``; the body is capped at
        ``max_bytes`` before and after decompression. With ``conditional``, remembered ETag /
        Last-Modified are sent and a 304 raises NotModified.
        """
        config = self.network.config
        target = self._check(url, "link")
        first = str(target)
        client = self.network._client(self.proxy)
        budget = config.timeout
        seen: set[str] = set()
        redirects = 0
        while True:
            seen.add(str(target))
            send_conditional = conditional and str(target) == first
            headers = self._request_headers(first, send_conditional)
            semaphore = await self.network._start_slot(self.origin_tuple[1])
            started = time.monotonic()
            try:
                async with asyncio.timeout(budget):
                    page = await self._exchange(client, target, headers)
            except TimeoutError:
                raise FetchError(f"timed out after {config.timeout:g}s", _show_url(first)) from None
            except httpx.HTTPError as exc:
                error = translate_error(exc, self.proxy is not None, config.timeout)
                error.url = _show_url(first)
                raise error from exc
            except FetchError as exc:
                exc.url = exc.url or _show_url(str(target))
                raise
            finally:
                semaphore.release()
                budget -= time.monotonic() - started
            if page.status in _REDIRECT_STATUSES:
                location = page.headers.get("location", "").strip()
                if not location:
                    raise FetchError(f"HTTP {page.status} without Location", _show_url(first),
                                     status=page.status)
                # OffOriginError before counting: a redirect off the origin is never fetched.
                following = self._check(location, "redirect", base=target)
                redirects += 1
                if redirects > config.max_redirects or str(following) in seen:
                    raise FetchError("too many redirects", _show_url(first))
                log.debug("%s: redirect %s -> %s", self.source, _show_url(str(target)),
                          _show_url(str(following)))
                target = following
                continue
            if page.status == 304 and send_conditional:
                raise NotModified(_show_url(first))
            if page.status >= 300:
                raise FetchError(f"HTTP {page.status}", _show_url(first), status=page.status)
            if conditional:
                cache = self.network.validator_cache
                cache.remember(self.source, first, page.headers.get("etag"), page.headers.get("last-modified"))
                if cache.same_body(self.source, first, page.body):
                    raise NotModified(_show_url(first))
            return page

    async def _exchange(self, client: httpx.AsyncClient, target: httpx.URL,
                        headers: dict[str, str]) -> Page:
        """One request/response. Redirect and error bodies are not read."""
        limit = self.network.config.max_bytes
        request = client.build_request("GET", target, headers=headers)
        response = await client.send(request, stream=True)
        try:
            lowered = {k.lower(): v for k, v in response.headers.items()}
            status = response.status_code
            if status in _REDIRECT_STATUSES or status >= 300 or status < 200:
                return Page(str(target), status, b"", lowered)
            length = lowered.get("content-length", "").strip()
            if length.isdigit() and int(length) > limit:
                raise FetchError(f"response larger than {limit} bytes")
            encoding = lowered.get("content-encoding", "").strip().lower()
            decoder = Decoder(encoding, limit)
            raw = 0
            async for chunk in response.aiter_raw():
                raw += len(chunk)
                if raw > limit:
                    raise FetchError(f"response larger than {limit} bytes")
                decoder.feed(chunk)
            body = decoder.finish()
            return Page(str(target), status, body, lowered)
        finally:
            await response.aclose()
