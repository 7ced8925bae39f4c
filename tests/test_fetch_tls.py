"""https sources still verify certificates: the direct client makes its verifying TLS context at
the first https request (not at start-up), and plain-HTTP sources share that client."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from monitor.errors import FetchError
from tests.loopback import LoopbackSite
from tests.test_fetch import net, run, source


@pytest.fixture
def tls_site(tmp_path: Path) -> Iterator[str]:
    """A loopback https server with a self-signed certificate that names 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_self_signed_https_source_fails_on_its_certificate_and_http_still_works(
        tls_site: str, site: LoopbackSite) -> None:
    site.route("/plain", "plain page")

    async def body(network):  # type: ignore[no-untyped-def]
        first = await network.fetcher(source(site.url("/plain"), name="plain")).get(site.url("/plain"))
        with pytest.raises(FetchError) as info:
            await network.fetcher(source(tls_site, name="tls")).get(tls_site)
        again = await network.fetcher(source(site.url("/plain"), name="plain")).get(site.url("/plain"))
        return first.body, info.value.reason, again.body

    first, reason, again = run(net(), body)
    assert first == again == b"plain page"
    assert reason.startswith("TLS error") and "certificate verify failed" in reason
