"""One reading of a URL's host for every decision: the onion rule, same-origin links and redirects,
and with them where cookies go. Hosts spelled with credentials, a trailing dot or in upper case
are the same host; hosts that only look alike are not."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from monitor.config import NetworkConfig, SourceConfig
from monitor.errors import LeakmonError, OffOriginError
from monitor.fetch import Network
from monitor.hosts import host_of, is_onion
from tests.loopback import LoopbackSite
from tests.socks5 import Socks5Proxy

ONION = "leakforum" + "a" * 47 + ".onion"          # 56 characters before ".onion", as a v3 name
assert len(ONION) == 56 + len(".onion")


def test_host_of_reads_the_host_as_dns_does() -> None:
    assert host_of(f"http://{ONION}./x") == ONION
    assert host_of(f"http://user:pw@{ONION}/x") == ONION
    assert host_of(f"HTTP://USER:PW@{ONION.upper()}.:8080/x?y#z") == ONION
    assert host_of("http://MÜNCHEN.de./") == host_of("http://xn--mnchen-3ya.de/") == "xn--mnchen-3ya.de"
    assert host_of("http://site\u3002onion/") == "site.onion"     # an ideographic full stop is a dot
    assert host_of(f"http://{ONION}@evil.example/") == "evil.example"
    assert host_of("http://[::1]:8080/") == "::1"
    assert host_of("http://[::1") is None and host_of("not a url") is None
    assert is_onion(host_of(f"http://u@{ONION}.:80/")) and not is_onion(host_of(f"http://{ONION}.evil.example/"))


def _check(tmp_path: Path, url: str, proxy: str | None = None) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    lines = ['[[watch]]', 'name = "X"', 'terms = ["x"]', '[[source]]', 'name = "forum"', 'kind = "rss"',
             f'url = "{url}"']
    if proxy:
        lines.append(f'proxy = "{proxy}"')
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {**os.environ, "LEAKMON_CACHE_DIR": ""}
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "check"],
                          capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path, check=False)


@pytest.mark.parametrize("url", [f"http://{ONION}./x", f"http://user:pw@{ONION}/x",
                                 f"http://{ONION.upper()}:80/x", f"http://user@{ONION}.:8080/x"])
def test_check_refuses_an_onion_source_without_a_proxy(tmp_path: Path, url: str) -> None:
    result = _check(tmp_path, url)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "config.toml: source[0].proxy:" in result.stderr and "is an .onion address" in result.stderr
    assert "pw@" not in result.stdout + result.stderr


def test_check_accepts_the_onion_source_with_a_proxy_and_hides_its_credentials(tmp_path: Path) -> None:
    result = _check(tmp_path, f"http://user:pw@{ONION}./x", proxy="tor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ONION in result.stdout and "pw@" not in result.stdout


# ---------------------------------------------------------------- the fetcher's decisions

def _net() -> NetworkConfig:
    return NetworkConfig(timeout=10.0, max_bytes=1_000_000, host_delay=0.0, concurrency=4, max_redirects=5)


@pytest.fixture
def onion_site(site: LoopbackSite, monkeypatch: pytest.MonkeyPatch):
    """The loopback site reachable as ONION through a real SOCKS5 proxy; the source sends cookies."""
    monkeypatch.setenv("FORUM_COOKIES", "mybbuser=secret-session")
    proxy = Socks5Proxy({ONION: site.port, ONION + ".": site.port, ONION.upper() + ".": site.port})
    try:
        yield site, SourceConfig(name="forum", kind="html", url=f"http://{ONION}/Forum-1", proxy=proxy.url,
                                 cookies_env="FORUM_COOKIES")
    finally:
        proxy.close()


def _fetch(src: SourceConfig, url: str) -> bytes | LeakmonError:
    async def main() -> bytes | LeakmonError:
        network = Network(_net())
        try:
            return (await network.fetcher(src).get(url)).body
        except LeakmonError as exc:
            return exc
        finally:
            await network.aclose()
    return asyncio.run(main())


@pytest.mark.parametrize("link", [f"http://user:pw@{ONION}./thread-1", f"http://{ONION.upper()}.:80/thread-1"])
def test_a_link_to_the_same_onion_spelled_otherwise_is_same_origin_and_gets_the_cookie(onion_site, link: str) -> None:
    site, src = onion_site
    site.route("/thread-1", b"thread")
    assert _fetch(src, link) == b"thread"
    (request,) = site.requests
    assert request[2]["cookie"] == "mybbuser=secret-session"
    assert "authorization" not in request[2]                       # the link's credentials never go


@pytest.mark.parametrize("link", [f"http://{ONION}.evil.example/x", f"http://{ONION}@evil.example/x",
                                  f"http://{ONION}:81/x", f"https://{ONION}./x"])
def test_a_link_that_only_looks_like_the_onion_is_never_fetched(onion_site, link: str) -> None:
    site, src = onion_site
    error = _fetch(src, link)
    assert isinstance(error, OffOriginError), error
    assert site.requests == []


def test_redirects_are_judged_by_the_same_host_reading(onion_site) -> None:
    site, src = onion_site

    def redirect(to: str):
        def handler(h: BaseHTTPRequestHandler) -> None:
            h.send_response(302)
            h.send_header("Location", to)
            h.send_header("Content-Length", "0")
            h.end_headers()
        return handler

    site.route("/same", handler=redirect(f"http://u:p@{ONION.upper()}./landing"))
    site.route("/landing", b"landed")
    site.route("/away", handler=redirect(f"http://{ONION}@evil.example/landing"))
    assert _fetch(src, f"http://{ONION}/same") == b"landed"
    assert [r[2].get("cookie") for r in site.requests] == ["mybbuser=secret-session"] * 2
    error = _fetch(src, f"http://{ONION}/away")
    assert isinstance(error, OffOriginError) and "redirect to another origin" in error.reason
    assert [r[1] for r in site.requests][-1] == "/away"            # the target was never asked for
