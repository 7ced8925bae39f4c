"""A real HTTP server on 127.0.0.1 for tests: routes are set per test, requests are recorded.

    site.route("/forum", body=b"<html>...", headers={"Content-Type": "text/html"})
    site.route("/slow", handler=lambda h: ...)       # full control: h is the BaseHTTPRequestHandler
    site.url("/forum")                               # http://127.0.0.1:PORT/forum
    site.requests                                    # [(method, path, headers dict)]
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up mid-answer (deadlines, size caps) are expected here, not errors."""

    def handle_error(self, request: object, client_address: object) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    handler: Callable[[BaseHTTPRequestHandler], None] | None = None


class LoopbackSite:
    """A threaded HTTP/1.1 server on loopback serving configurable routes (path incl. query)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                site._serve(self)

            def do_POST(self) -> None:
                site._serve(self)

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, body: bytes | str = b"", *, status: int = 200,
              headers: dict[str, str] | None = None,
              handler: Callable[[BaseHTTPRequestHandler], None] | None = None) -> None:
        if isinstance(body, str):
            body = body.encode("utf-8")
        with self._lock:
            self.routes[path] = Route(status, body, dict(headers or {}), handler)

    def paths(self) -> list[str]:
        with self._lock:
            return [path for _, path, _ in self.requests]

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests.append((h.command, h.path, {k.lower(): v for k, v in h.headers.items()}))
            route = self.routes.get(h.path) or self.routes.get(h.path.split("?")[0])
        if h.command == "POST":
            length = int(h.headers.get("Content-Length") or 0)
            if length:
                h.rfile.read(length)
        if route is None:
            h.send_response(404)
            h.send_header("Content-Length", "9")
            h.end_headers()
            h.wfile.write(b"not found")
            return
        if route.handler is not None:
            route.handler(h)
            return
        h.send_response(route.status)
        headers = {"Content-Type": "text/html; charset=utf-8", **route.headers}
        for key, value in headers.items():
            h.send_header(key, value)
        h.send_header("Content-Length", str(len(route.body)))
        h.end_headers()
        h.wfile.write(route.body)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
