"""httpx's errors as FetchError reasons in words, never with a credential, header or proxy secret."""

from __future__ import annotations

import socket
import ssl

import httpx

from monitor.errors import FetchError
from monitor.redaction import redact


def error_chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def short_error(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return redact(text)[:160]


def translate_error(exc: httpx.HTTPError, proxied: bool, timeout: float) -> FetchError:
    """httpx's error -> a FetchError with a reason in words (never credentials or headers)."""
    chain = error_chain(exc)
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(f"timed out after {timeout:g}s")
    if isinstance(exc, httpx.ProxyError):
        return FetchError(f"proxy error: {short_error(exc)}")
    if isinstance(exc, httpx.ConnectError):
        if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in str(exc).lower():
            words = "connection refused"
        elif any(isinstance(e, socket.gaierror) for e in chain):
            words = "DNS lookup failed"
        elif any(isinstance(e, ssl.SSLError) for e in chain):
            words = f"TLS error: {short_error(exc)}"
        else:
            words = f"connection failed: {short_error(exc)}"
        # Every connection of a proxied source goes to its proxy: a connect error is the proxy's.
        return FetchError(f"proxy unreachable: {words}" if proxied else words)
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.LocalProtocolError)):
        return FetchError(f"protocol error: {short_error(exc)}")
    if isinstance(exc, (httpx.ReadError, httpx.WriteError, httpx.CloseError)):
        return FetchError(f"connection lost: {short_error(exc)}")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return FetchError("unsupported URL scheme")
    return FetchError(f"request failed: {type(exc).__name__}")
