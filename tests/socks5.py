"""A small real SOCKS5 proxy on 127.0.0.1 for tests (RFC 1928, with RFC 1929 username/password).

It stands in for Tor: fake ``.onion`` names are mapped to loopback servers, every CONNECT is
recorded as the client sent it (address type, host name or IP, port, username), and it never
connects anywhere but 127.0.0.1::

    proxy = Socks5Proxy({"leakforumabcdefgh.onion": site.port})
    proxy.url                 # socks5h://127.0.0.1:PORT
    proxy.connects            # [Connect(atyp="domain", host="leakforumabcdefgh.onion", port=80, username=...)]
    proxy.close()
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading
from dataclasses import dataclass

ATYP_IPV4, ATYP_DOMAIN, ATYP_IPV6 = 1, 3, 4
REP_OK, REP_FAILURE, REP_NOT_ALLOWED, REP_HOST_UNREACHABLE, REP_REFUSED = 0, 1, 2, 4, 5


@dataclass(frozen=True)
class Connect:
    """One CONNECT request as the proxy received it."""

    atyp: str                 # "ipv4" | "domain" | "ipv6"
    host: str
    port: int
    username: str | None      # None when the client chose "no authentication"


class Socks5Proxy:
    """A threaded SOCKS5 server: ``names`` maps a host name (any port) to a loopback port."""

    def __init__(self, names: dict[str, int] | None = None) -> None:
        self.names = {k.lower(): v for k, v in (names or {}).items()}
        self.connects: list[Connect] = []
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._closed = False
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"socks5h://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closed = True
        try:
            self._sock.close()
        except OSError:
            pass

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    # ------------------------------------------------------------ protocol

    @staticmethod
    def _read(conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError("client closed")
            data += chunk
        return data

    def _serve(self, conn: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            version, nmethods = self._read(conn, 2)
            if version != 5:
                return
            methods = self._read(conn, nmethods)
            username: str | None = None
            if 2 in methods:
                conn.sendall(b"\x05\x02")
                _, ulen = self._read(conn, 2)
                username = self._read(conn, ulen).decode("utf-8", "replace")
                (plen,) = self._read(conn, 1)
                self._read(conn, plen)
                conn.sendall(b"\x01\x00")
            elif 0 in methods:
                conn.sendall(b"\x05\x00")
            else:
                conn.sendall(b"\x05\xff")
                return
            _, cmd, _, atyp = self._read(conn, 4)
            if atyp == ATYP_IPV4:
                host, kind = socket.inet_ntoa(self._read(conn, 4)), "ipv4"
            elif atyp == ATYP_DOMAIN:
                (length,) = self._read(conn, 1)
                host, kind = self._read(conn, length).decode("idna"), "domain"
            elif atyp == ATYP_IPV6:
                host, kind = socket.inet_ntop(socket.AF_INET6, self._read(conn, 16)), "ipv6"
            else:
                return
            (port,) = struct.unpack("!H", self._read(conn, 2))
            with self._lock:
                self.connects.append(Connect(kind, host, port, username))
            if cmd != 1:
                self._reply(conn, REP_NOT_ALLOWED)
                return
            target_port = self._target(host, port)
            if target_port is None:
                self._reply(conn, REP_HOST_UNREACHABLE)
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", target_port), timeout=5)
            except OSError:
                self._reply(conn, REP_REFUSED)
                return
            upstream.settimeout(None)
            self._reply(conn, REP_OK)
            self._relay(conn, upstream)
        except (OSError, ValueError, UnicodeError):
            pass
        finally:
            for s in (conn, upstream):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass

    def _target(self, host: str, port: int) -> int | None:
        """The loopback port to connect to, or None: this proxy never leaves 127.0.0.1."""
        if host.lower() in self.names:
            return self.names[host.lower()]
        try:
            if ipaddress.ip_address(host).is_loopback:
                return port
        except ValueError:
            pass
        return None

    @staticmethod
    def _reply(conn: socket.socket, code: int) -> None:
        conn.sendall(bytes([5, code, 0, ATYP_IPV4]) + socket.inet_aton("0.0.0.0") + b"\x00\x00")

    @staticmethod
    def _relay(a: socket.socket, b: socket.socket) -> None:
        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

        other = threading.Thread(target=pump, args=(b, a), daemon=True)
        other.start()
        pump(a, b)
        other.join(timeout=30)
