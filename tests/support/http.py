"""Request handlers for the loopback site (``site.route(path, handler=...)``): bodies streamed,
dripped, compressed, redirected; and compression bombs built without the memory they expand to."""

from __future__ import annotations

import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

__all__ = ["drip_handler", "encoded_handler", "redirect", "stream_handler", "zero_bomb"]


def stream_handler(total: int, *, chunked: bool, chunk: int = 64 * 1024,
                   extra: dict[str, str] | None = None) -> Callable[[BaseHTTPRequestHandler], None]:
    """A handler that streams ``total`` bytes of 'A' (Content-Length or chunked) until the client leaves."""
    def handler(h: BaseHTTPRequestHandler) -> None:
        try:
            h.send_response(200)
            h.send_header("Content-Type", "text/html")
            for key, value in (extra or {}).items():
                h.send_header(key, value)
            if chunked:
                h.send_header("Transfer-Encoding", "chunked")
            else:
                h.send_header("Content-Length", str(total))
            h.end_headers()
            block = b"A" * chunk
            sent = 0
            while sent < total:
                data = block[: min(chunk, total - sent)]
                h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                sent += len(data)
            if chunked:
                h.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass   # the client stopped reading: expected
        h.close_connection = True
    return handler


def encoded_handler(body: bytes, encoding: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def handler(h: BaseHTTPRequestHandler) -> None:
        try:
            h.send_response(200)
            h.send_header("Content-Type", "text/html")
            h.send_header("Content-Encoding", encoding)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except OSError:
            pass
    return handler


def zero_bomb(compressor: Any, megabytes: int = 200) -> bytes:
    """Compress ``megabytes`` MB of zeros by streaming, so building it costs no memory."""
    block = bytes(1 << 20)
    flush = getattr(compressor, "flush", None) or compressor.finish
    process = getattr(compressor, "compress", None) or compressor.process
    return b"".join([process(block) for _ in range(megabytes)] + [flush()])


def drip_handler(total: int) -> Callable[[BaseHTTPRequestHandler], None]:
    """A handler that announces ``total`` bytes and sends one a second."""
    def handler(h: BaseHTTPRequestHandler) -> None:
        try:
            h.send_response(200)
            h.send_header("Content-Type", "text/html")
            h.send_header("Content-Length", str(total))
            h.end_headers()
            for _ in range(total):
                h.wfile.write(b"<")
                h.wfile.flush()
                time.sleep(1)
        except OSError:
            pass
    return handler


def redirect(to: str, status: int = 302) -> Callable[[BaseHTTPRequestHandler], None]:
    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Location", to)
        h.send_header("Content-Length", "0")
        h.end_headers()
    return handler
