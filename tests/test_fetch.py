"""monitor.fetch against real servers on 127.0.0.1: the loopback site and a real SOCKS5 proxy.

Every test makes real requests; nothing here reaches the internet (the .onion names only exist
inside the test proxy's map).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, TypeVar

import brotli
import pytest

from monitor.config import NetworkConfig, SourceConfig
from monitor.errors import FetchError, NotModified, OffOriginError
from monitor.fetch import Fetcher, Network, Page, redact
from tests.loopback import LoopbackSite
from tests.socks5 import Socks5Proxy
from tests.support.http import drip_handler, encoded_handler, redirect, stream_handler, zero_bomb

T = TypeVar("T")
ONION = "leakforumabcdefgh.onion"
MB = 1_000_000


# ---------------------------------------------------------------- helpers

def net(**overrides: Any) -> NetworkConfig:
    values: dict[str, Any] = dict(timeout=10.0, max_bytes=MB, host_delay=0.0, concurrency=8,
                                  max_redirects=5, user_agent="leakmon-test/1.0")
    values.update(overrides)
    return NetworkConfig(**values)


def source(url: str, name: str = "s", **overrides: Any) -> SourceConfig:
    return SourceConfig(name=name, kind="html", url=url, **overrides)


def run(config: NetworkConfig, body: Callable[[Network], Awaitable[T]]) -> T:
    """Run ``body(network)`` in a fresh event loop and close the network afterwards."""
    async def main() -> T:
        network = Network(config)
        try:
            return await body(network)
        finally:
            await network.aclose()
    return asyncio.run(main())


def get(config: NetworkConfig, src: SourceConfig, url: str | None = None, **kw: Any) -> Page:
    return run(config, lambda network: network.fetcher(src).get(url or src.url, **kw))


def fetch_error(config: NetworkConfig, src: SourceConfig, url: str | None = None,
                kind: type[FetchError] = FetchError) -> FetchError:
    with pytest.raises(kind) as info:
        get(config, src, url)
    return info.value


def dead_port() -> int:
    """A loopback port with nothing listening."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ROOT = str(Path(__file__).resolve().parent.parent)

# Run in a child interpreter: fetch one URL and report the FetchError reason and the growth of
# the peak RSS (ru_maxrss is in KiB on Linux) during the fetch.
_BOMB_CHILD = """
import asyncio, json, resource, sys
from monitor.config import NetworkConfig, SourceConfig
from monitor.errors import FetchError
from monitor.fetch import Network

url, max_bytes = sys.argv[1], int(sys.argv[2])

async def main():
    network = Network(NetworkConfig(timeout=30.0, max_bytes=max_bytes, host_delay=0.0))
    fetcher = network.fetcher(SourceConfig(name="bomb", kind="html", url=url))
    try:
        await fetcher.get(url)
        return "no error"
    except FetchError as exc:
        return exc.reason
    finally:
        await network.aclose()

async def warm():   # import and set up everything once, so only the fetch itself is measured
    network = Network(NetworkConfig())
    network._client(None)
    await network.aclose()

asyncio.run(warm())
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
reason = asyncio.run(main())
growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
print(json.dumps({"reason": reason, "growth": growth}))
"""


# ---------------------------------------------------------------- ordinary requests

def test_get_returns_the_page_and_sends_our_headers(site: LoopbackSite) -> None:
    site.route("/forum", b"<html>hello</html>", headers={"X-Thing": "yes", "ETag": '"e1"'})
    src = source(site.url("/forum"), headers={"Accept-Language": "fr", "Accept-Encoding": "identity"})
    page = get(net(), src)
    assert page.url == site.url("/forum")
    assert page.status == 200
    assert page.body == b"<html>hello</html>"
    assert page.headers["x-thing"] == "yes" and page.content_type == "text/html"
    assert page.charset == "utf-8"
    (method, path, headers), = site.requests
    assert (method, path) == ("GET", "/forum")
    assert headers["user-agent"] == "leakmon-test/1.0"
    assert headers["accept-language"] == "fr"
    # We decode ourselves with a bound: the source cannot change what we advertise.
    assert headers["accept-encoding"] == "gzip, deflate, br"
    assert "cookie" not in headers and "if-none-match" not in headers


def test_network_is_reusable_after_aclose_in_another_loop(site: LoopbackSite) -> None:
    site.route("/x", b"x")
    network = Network(net(concurrency=1))
    src = source(site.url("/x"))

    async def once() -> bytes:
        try:
            return (await network.fetcher(src).get(src.url)).body
        finally:
            await network.aclose()

    assert [asyncio.run(once()), asyncio.run(once())] == [b"x", b"x"]


def test_relative_url_resolves_against_the_source_url(site: LoopbackSite) -> None:
    site.route("/forum/thread-1", b"thread")
    page = get(net(), source(site.url("/forum/")), "thread-1")
    assert page.body == b"thread" and page.url == site.url("/forum/thread-1")


def test_cookies_go_only_to_the_source_origin(site: LoopbackSite, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BF_COOKIES", "mybbuser=secret-session")
    other = LoopbackSite()   # another port on the same host = another origin
    try:
        site.route("/forum", b"listing")
        other.route("/elsewhere", b"nope")
        src = source(site.url("/forum"), cookies_env="BF_COOKIES")
        assert get(net(), src).body == b"listing"
        assert site.requests[0][2]["cookie"] == "mybbuser=secret-session"

        error = fetch_error(net(), src, other.url("/elsewhere"), OffOriginError)
        assert "another origin" in error.reason
        assert "secret" not in str(error) and "secret" not in error.url
        assert other.requests == []
    finally:
        other.close()


def test_set_cookie_is_never_replayed_to_another_source(site: LoopbackSite) -> None:
    site.route("/login", b"ok", headers={"Set-Cookie": "sid=from-server; Path=/"})
    site.route("/forum", b"listing")

    async def body(network: Network) -> None:
        await network.fetcher(source(site.url("/login"), name="a")).get(site.url("/login"))
        await network.fetcher(source(site.url("/forum"), name="b")).get(site.url("/forum"))

    run(net(), body)
    assert [path for path in site.paths()] == ["/login", "/forum"]
    assert "cookie" not in site.requests[1][2]


def test_same_origin_rule(site: LoopbackSite) -> None:
    async def body(network: Network) -> Fetcher:
        return network.fetcher(source(site.url("/forum")))

    fetcher = run(net(), body)
    assert fetcher.origin == f"http://127.0.0.1:{site.port}"
    assert fetcher.same_origin(site.url("/any/path?q=1"))
    assert fetcher.same_origin("/relative") and fetcher.same_origin("thread-2.html")
    assert fetcher.same_origin(f"HTTP://127.0.0.1:{site.port}/upper")
    assert not fetcher.same_origin(f"https://127.0.0.1:{site.port}/")      # scheme differs
    assert not fetcher.same_origin(f"http://127.0.0.1:{site.port + 1}/")   # port differs
    assert not fetcher.same_origin("http://localhost/")                   # host differs
    assert not fetcher.same_origin("//evil.example/x")                     # scheme-relative
    assert not fetcher.same_origin(f"http://127.0.0.1:{site.port}@evil.example/")
    assert not fetcher.same_origin("javascript:alert(1)")
    assert not fetcher.same_origin("http://[::1")                          # unparsable


def test_credentials_in_a_link_are_not_sent(site: LoopbackSite) -> None:
    site.route("/x", b"x")
    get(net(), source(site.url("/")), f"http://user:pw@127.0.0.1:{site.port}/x")
    assert "authorization" not in site.requests[0][2]


def test_non_http_scheme_is_refused() -> None:
    src = source("http://127.0.0.1:9/")
    error = fetch_error(net(), src, "ftp://127.0.0.1:9/file", OffOriginError)
    assert "not an http(s)" in error.reason


# ---------------------------------------------------------------- status codes

@pytest.mark.parametrize("status", [503, 404, 403])
def test_http_error_status_is_a_fetch_error(site: LoopbackSite, status: int) -> None:
    site.route("/down", b"error page", status=status)
    error = fetch_error(net(), source(site.url("/down")))
    assert error.reason == f"HTTP {status}" and error.status == status
    assert not isinstance(error, OffOriginError)


def test_connection_refused_is_reported_in_words() -> None:
    port = dead_port()
    error = fetch_error(net(), source(f"http://127.0.0.1:{port}/"))
    assert error.reason == "connection refused" and error.status is None


# ---------------------------------------------------------------- size caps

@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_large_body_stops_at_max_bytes(site: LoopbackSite, chunked: bool) -> None:
    site.route("/big", handler=stream_handler(40 * MB, chunked=chunked))
    error = fetch_error(net(max_bytes=MB), source(site.url("/big")))
    assert error.reason == f"response larger than {MB} bytes"


def test_announced_length_over_max_bytes_fails_before_reading(site: LoopbackSite) -> None:
    def announce_only(h: BaseHTTPRequestHandler) -> None:
        try:
            h.send_response(200)
            h.send_header("Content-Length", str(40 * MB))
            h.end_headers()
            h.wfile.flush()
            time.sleep(4)   # no body at all: only the announced length can fail the request
        except OSError:
            pass

    site.route("/announced", handler=announce_only)
    error = fetch_error(net(max_bytes=MB, timeout=3.0), source(site.url("/announced")))
    assert error.reason == f"response larger than {MB} bytes"


def test_body_exactly_at_max_bytes_is_accepted(site: LoopbackSite) -> None:
    site.route("/fits", handler=stream_handler(50_000, chunked=True, chunk=7_000))
    assert len(get(net(max_bytes=50_000), source(site.url("/fits"))).body) == 50_000


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    """200 MB of zeros as gzip, zlib-deflate and brotli, each a few hundred KB at most."""
    return {
        "gzip": zero_bomb(zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)),
        "deflate": zero_bomb(zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS)),
        "br": zero_bomb(brotli.Compressor(quality=5)),
    }


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_decompression_bomb_stops_at_max_bytes(site: LoopbackSite, bombs: dict[str, bytes],
                                               encoding: str) -> None:
    bomb = bombs[encoding]
    assert len(bomb) < MB   # the raw size alone would pass the cap
    site.route("/bomb", handler=encoded_handler(bomb, encoding))
    # The peak RSS is per process and never goes down: measure in a fresh interpreter, or an
    # earlier test's peak would hide this one's growth.
    child = subprocess.run([sys.executable, "-c", _BOMB_CHILD, site.url("/bomb"), str(MB)],
                           capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout)
    assert result["reason"] == f"response larger than {MB} bytes"
    assert result["growth"] < 100 * MB, f"peak RSS grew by {result['growth'] / MB:.0f} MB"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate", "br"])
def test_compressed_bodies_are_decoded(site: LoopbackSite, encoding: str) -> None:
    text = ("<p>Mediboard export CHU de Rennes</p>" * 3000).encode()
    if encoding == "gzip":
        body = gzip.compress(text)
    elif encoding == "deflate":
        body = zlib.compress(text)
    elif encoding == "raw-deflate":   # what many servers really send as "deflate"
        c = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        body = c.compress(text) + c.flush()
    else:
        body = brotli.compress(text)
    site.route("/z", handler=encoded_handler(body, "deflate" if encoding == "raw-deflate" else encoding))
    page = get(net(), source(site.url("/z")))
    assert page.body == text


def test_multi_member_gzip_is_decoded(site: LoopbackSite) -> None:
    site.route("/z", handler=encoded_handler(gzip.compress(b"first ") + gzip.compress(b"second"), "gzip"))
    assert get(net(), source(site.url("/z"))).body == b"first second"


def test_unknown_or_corrupt_encoding_is_a_fetch_error(site: LoopbackSite) -> None:
    site.route("/zstd", handler=encoded_handler(b"\x28\xb5\x2f\xfd junk", "zstd"))
    site.route("/bad", handler=encoded_handler(b"this is not gzip at all", "gzip"))
    assert "unsupported Content-Encoding" in fetch_error(net(), source(site.url("/zstd"))).reason
    assert fetch_error(net(), source(site.url("/bad"))).reason == "corrupt gzip body"


# ---------------------------------------------------------------- deadline

def test_dripping_server_fails_at_the_total_deadline(site: LoopbackSite) -> None:
    site.route("/drip", handler=drip_handler(100))
    error = fetch_error(net(timeout=2.0), source(site.url("/drip")))
    assert error.reason == "timed out after 2s"


# ---------------------------------------------------------------- redirects

def test_same_origin_redirect_is_followed(site: LoopbackSite) -> None:
    site.route("/old", handler=redirect("/middle", 301))
    site.route("/middle", handler=redirect(site.url("/new"), 307))
    site.route("/new", b"moved here")
    page = get(net(), source(site.url("/old")))
    assert page.body == b"moved here" and page.url == site.url("/new")
    assert site.paths() == ["/old", "/middle", "/new"]


def test_redirect_loop_is_too_many_redirects(site: LoopbackSite) -> None:
    site.route("/a", handler=redirect("/b"))
    site.route("/b", handler=redirect("/a"))
    assert fetch_error(net(max_redirects=20), source(site.url("/a"))).reason == "too many redirects"
    assert len(site.requests) == 2   # the loop is noticed, not run to the limit


def test_redirect_chain_longer_than_the_limit(site: LoopbackSite) -> None:
    for i in range(10):
        site.route(f"/r{i}", handler=redirect(f"/r{i + 1}"))
    site.route("/r10", b"end")
    assert fetch_error(net(max_redirects=3), source(site.url("/r0"))).reason == "too many redirects"
    assert site.paths() == ["/r0", "/r1", "/r2", "/r3"]


def test_off_origin_redirect_is_never_fetched(site: LoopbackSite) -> None:
    other = LoopbackSite()
    try:
        other.route("/trap", b"gotcha")
        site.route("/go", handler=redirect(other.url("/trap")))
        site.route("/tls", handler=redirect(f"https://127.0.0.1:{site.port}/go"))
        error = fetch_error(net(), source(site.url("/go")), kind=OffOriginError)
        assert "redirect to another origin" in error.reason and str(other.port) in error.reason
        fetch_error(net(), source(site.url("/tls")), kind=OffOriginError)
        assert other.requests == []
    finally:
        other.close()


# ---------------------------------------------------------------- conditional requests

def test_etag_then_304_is_not_modified(site: LoopbackSite) -> None:
    def handler(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == '"v1"':
            h.send_response(304)
            h.send_header("ETag", '"v1"')
            h.end_headers()
            return
        h.send_response(200)
        h.send_header("ETag", '"v1"')
        h.send_header("Content-Length", "7")
        h.end_headers()
        h.wfile.write(b"listing")

    site.route("/feed", handler=handler)
    src = source(site.url("/feed"))

    async def body(network: Network) -> list[str]:
        outcomes = []
        fetcher = network.fetcher(src)
        outcomes.append((await fetcher.get(src.url, conditional=True)).body.decode())
        try:
            await network.fetcher(src).get(src.url, conditional=True)   # a later poll
            outcomes.append("fetched")
        except NotModified:
            outcomes.append("not modified")
        # Unconditional requests never send validators, and another source has its own.
        outcomes.append((await fetcher.get(src.url)).body.decode())
        other = source(site.url("/feed"), name="other")
        outcomes.append((await network.fetcher(other).get(src.url, conditional=True)).body.decode())
        return outcomes

    assert run(net(), body) == ["listing", "not modified", "listing", "listing"]
    sent = [headers.get("if-none-match") for _, _, headers in site.requests]
    assert sent == [None, '"v1"', None, None]


def test_last_modified_is_sent_back_and_forgotten_on_request(site: LoopbackSite) -> None:
    stamp = "Wed, 21 Oct 2025 07:28:00 GMT"
    site.route("/feed", b"<rss/>", headers={"Last-Modified": stamp})
    src = source(site.url("/feed"))

    async def body(network: Network) -> None:
        await network.fetcher(src).get(src.url, conditional=True)
        with pytest.raises(NotModified):     # this server ignores the header, but the body is the same
            await network.fetcher(src).get(src.url, conditional=True)
        network.validator_cache.forget(src.name)   # e.g. the poll failed after the fetch: fetch in full next time
        await network.fetcher(src).get(src.url, conditional=True)

    run(net(), body)
    assert [h.get("if-modified-since") for _, _, h in site.requests] == [None, stamp, None]


def test_a_byte_identical_body_counts_as_unchanged_and_survives_a_restart(site: LoopbackSite) -> None:
    site.route("/list", b"<html>same listing</html>")
    src = source(site.url("/list"))

    async def first(network: Network) -> dict:
        await network.fetcher(src).get(src.url, conditional=True)
        assert (await network.fetcher(src).get(src.url)).body     # unconditional: always the page
        return network.validator_cache.snapshot(src.name)

    saved = run(net(), first)

    async def later(network: Network) -> str:
        network.validator_cache.restore(src.name, saved)          # a new process, from the database
        try:
            await network.fetcher(src).get(src.url, conditional=True)
        except NotModified:
            outcome = "unchanged"
        else:
            outcome = "parsed"
        site.route("/list", b"<html>a new thread</html>")
        page = await network.fetcher(src).get(src.url, conditional=True)
        return outcome + " then " + page.body.decode()

    assert run(net(), later) == "unchanged then <html>a new thread</html>"


# ---------------------------------------------------------------- concurrency and host delay

def test_concurrency_limit_across_sources(site: LoopbackSite) -> None:
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def slow(h: BaseHTTPRequestHandler) -> None:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.2)
        with lock:
            state["now"] -= 1
        h.send_response(200)
        h.send_header("Content-Length", "2")
        h.end_headers()
        h.wfile.write(b"ok")

    for i in range(6):
        site.route(f"/p{i}", handler=slow)

    async def body(network: Network) -> list[Page]:
        fetchers = [network.fetcher(source(site.url("/"), name=f"src{i}")) for i in range(6)]
        return await asyncio.gather(*(f.get(site.url(f"/p{i}")) for i, f in enumerate(fetchers)))

    pages = run(net(concurrency=2), body)
    assert [p.body for p in pages] == [b"ok"] * 6
    assert state["max"] <= 2


def test_host_delay_spaces_request_starts(site: LoopbackSite) -> None:
    starts: list[float] = []

    def stamp(h: BaseHTTPRequestHandler) -> None:
        starts.append(time.monotonic())
        h.send_response(200)
        h.send_header("Content-Length", "0")
        h.end_headers()

    for i in range(3):
        site.route(f"/p{i}", handler=stamp)

    async def body(network: Network) -> None:
        fetcher = network.fetcher(source(site.url("/")))
        await asyncio.gather(*(fetcher.get(site.url(f"/p{i}")) for i in range(3)))

    run(net(host_delay=0.3), body)
    starts.sort()
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert len(gaps) == 2 and min(gaps) >= 0.3 - 0.05, gaps


def test_waiting_for_one_host_does_not_block_another(site: LoopbackSite) -> None:
    """With one slot in all, a request waiting for its host's gap must not hold that slot."""
    order: list[str] = []

    def mark(h: BaseHTTPRequestHandler) -> None:
        order.append(f"{h.headers['Host']}{h.path}")
        h.send_response(200)
        h.send_header("Content-Length", "0")
        h.end_headers()

    site.route("/1", handler=mark)
    site.route("/2", handler=mark)
    proxy = Socks5Proxy({"a.onion": site.port, "b.onion": site.port})
    try:
        a = source("http://a.onion/", name="a", proxy=proxy.url)
        b = source("http://b.onion/", name="b", proxy=proxy.url)

        async def body(network: Network) -> None:
            fa, fb = network.fetcher(a), network.fetcher(b)
            await fa.get("http://a.onion/1")
            await asyncio.gather(fa.get("http://a.onion/2"), fb.get("http://b.onion/1"))

        run(net(concurrency=1, host_delay=1.0), body)
    finally:
        proxy.close()
    assert order == ["a.onion/1", "b.onion/1", "a.onion/2"]


# ---------------------------------------------------------------- proxies

def test_environment_proxy_variables_do_not_reroute(site: LoopbackSite,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    dead = f"http://127.0.0.1:{dead_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, dead)
    monkeypatch.setenv("NO_PROXY", "")
    site.route("/direct", b"direct")
    assert get(net(), source(site.url("/direct"))).body == b"direct"


def test_onion_source_through_socks5h_uses_remote_dns(site: LoopbackSite) -> None:
    site.route("/Forum-Databases", b"<html>onion listing</html>")
    proxy = Socks5Proxy({ONION: site.port})
    try:
        src = source(f"http://{ONION}/Forum-Databases", name="breachforums", proxy=proxy.url)
        page = get(net(), src)
    finally:
        proxy.close()
    assert page.body == b"<html>onion listing</html>"
    assert page.url == f"http://{ONION}/Forum-Databases"
    (connect,) = proxy.connects
    # The proxy got the name itself (DOMAINNAME), not an address we resolved.
    assert (connect.atyp, connect.host, connect.port) == ("domain", ONION, 80)
    assert site.requests[0][2]["host"] == ONION


def test_each_source_gets_its_own_socks_username(site: LoopbackSite) -> None:
    site.route("/x", b"x")
    proxy = Socks5Proxy({ONION: site.port})
    try:
        async def body(network: Network) -> None:
            for name in ("forum one", "forum-two", "forum one"):
                await network.fetcher(source(f"http://{ONION}/x", name=name, proxy=proxy.url)).get(
                    f"http://{ONION}/x")

        run(net(), body)
    finally:
        proxy.close()
    users = [c.username for c in proxy.connects]
    assert len(users) >= 2 and all(u and u.startswith("leakmon-") for u in users)
    assert users[0] != users[1]                      # two sources: two Tor circuits
    assert len(set(users)) == 2                      # the same source keeps its identity


def test_source_with_a_dead_proxy_never_connects_directly(site: LoopbackSite) -> None:
    site.route("/x", b"must not be fetched")
    proxy = f"socks5h://alice:hunter2@127.0.0.1:{dead_port()}"
    error = fetch_error(net(), source(site.url("/x"), proxy=proxy))
    assert error.reason.startswith("proxy unreachable"), error.reason
    assert "hunter2" not in str(error) and "alice" not in str(error)
    assert site.requests == []


def test_proxy_that_cannot_reach_the_target_is_a_fetch_error(site: LoopbackSite) -> None:
    proxy = Socks5Proxy({})   # knows no onion: answers "host unreachable"
    try:
        error = fetch_error(net(), source(f"http://{ONION}/x", proxy=proxy.url))
    finally:
        proxy.close()
    assert error.reason.startswith("proxy error"), error.reason
    assert [c.host for c in proxy.connects] == [ONION]


def test_unsupported_proxy_scheme_fails_without_connecting(site: LoopbackSite) -> None:
    site.route("/x", b"x")
    error = fetch_error(net(), source(site.url("/x"), proxy="socks4://127.0.0.1:9050"))
    assert error.reason.startswith("unusable proxy")
    assert site.requests == []


# ---------------------------------------------------------------- redaction

def test_redact_removes_bot_tokens_and_userinfo() -> None:
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    text = f"POST https://api.telegram.org/bot{token}/sendMessage failed"
    cleaned = redact(text)
    assert token not in cleaned and "AAHdqTcv" not in cleaned
    assert cleaned == "POST https://api.telegram.org/bot<redacted>/sendMessage failed"
    assert redact(f"token {token} leaked") == "token <redacted> leaked"
    assert redact("via socks5h://leakmon-a:x@127.0.0.1:9050 and http://u:p@h/x") == \
        "via socks5h://<redacted>@127.0.0.1:9050 and http://<redacted>@h/x"
    assert redact("http://example.onion/Forum-1 (no secrets)") == "http://example.onion/Forum-1 (no secrets)"


def test_httpx_request_log_is_silenced() -> None:
    import logging

    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
