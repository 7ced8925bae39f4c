"""The origin rules of fetching: which URL a source may fetch, its proxy, and no shared cookies.

URLs are parsed with httpx itself, so the URL checked is exactly the URL connected to. An origin
is (scheme, host, port); a source fetches its own origin only, redirects included.
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import re

import httpx

from monitor.hosts import host_of

DEFAULT_PORTS = {"http": 80, "https": 443}


class NoCookies(http.cookiejar.CookiePolicy):
    """A cookie policy that neither stores nor returns anything.

    httpx keeps a client-level jar that stores every Set-Cookie and replays it to the same
    domain for every source sharing the client; cookies must belong to one source only.
    """

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie: http.cookiejar.Cookie, request: object) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: object) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: object) -> bool:
        return False

    def path_return_ok(self, path: str, request: object) -> bool:
        return False



Origin = tuple[str, str, int]


def parse_url(url: str | httpx.URL) -> httpx.URL | None:
    """Parse with httpx itself, so the URL we check is exactly the URL we connect to."""
    try:
        return url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return None


def origin_of(url: httpx.URL) -> Origin | None:
    """(scheme, host, port) of an absolute URL; the host as :func:`monitor.hosts.host_of` reads it."""
    scheme = url.scheme.lower()
    host = host_of(str(url)) if url.host else None
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, url.port or DEFAULT_PORTS[scheme]


def origin_text(origin: Origin) -> str:
    scheme, host, port = origin
    shown = f"[{host}]" if ":" in host else host
    if port != DEFAULT_PORTS[scheme]:
        shown = f"{shown}:{port}"
    return f"{scheme}://{shown}"


def _socks_user(source: str) -> str:
    """A SOCKS username unique to the source: Tor (IsolateSOCKSAuth) gives it its own circuits."""
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", source).strip("-")[:40] or "source"
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()[:8]
    return f"leakmon-{clean}-{digest}"


def source_proxy(proxy: str | None, source: str) -> str | None:
    """The proxy URL this source uses; SOCKS proxies without credentials get a per-source user."""
    if proxy is None:
        return None
    parsed = parse_url(proxy)
    if parsed is not None and parsed.scheme.lower() in ("socks5", "socks5h") and not parsed.userinfo:
        return str(parsed.copy_with(username=_socks_user(source), password="x"))
    return proxy
