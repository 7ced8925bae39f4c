"""Each source kind through the REAL fetcher (monitor.fetch.Network) against the loopback `site`.

Skipped while monitor.fetch is still the interface stub (Network.fetcher raising NotImplementedError).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from monitor.config import NetworkConfig, SourceConfig
from monitor.errors import NotModified, ParseError
from monitor.fetch import Network
from sources import make_options, module
from tests.loopback import LoopbackSite
from tests.support.sources import FakeState, fixture


def _network() -> Network:
    return Network(NetworkConfig(host_delay=0.0, timeout=10.0, concurrency=4))


def _fetch_is_real() -> bool:
    network = _network()
    try:
        network.fetcher(SourceConfig(name="probe", kind="rss", url="http://127.0.0.1:9/"))
    except NotImplementedError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _fetch_is_real(), reason="monitor.fetch is still the interface stub")


def poll(url: str, kind: str, state: FakeState | None = None, **keys: Any) -> list:
    """Build the source as config.py does, fetch through the real Network, return the items."""
    src = SourceConfig(name="loop", kind=kind, url=url, **keys)
    opts = make_options(src)

    async def run() -> list:
        network = _network()
        try:
            return await module(kind).collect(network.fetcher(src), opts, (state or FakeState()).state)
        finally:
            await network.aclose()

    return asyncio.run(run())


def test_mybb_two_pages_and_follow(site: LoopbackSite) -> None:
    site.route("/Forum-Databases", fixture("mybb_forumdisplay_page1.html"))
    site.route("/Forum-Databases?page=2", fixture("mybb_forumdisplay_page2.html"))
    site.route("/showthread.php?tid=4101", fixture("mybb_showthread_4101.html"))
    site.route("/showthread.php?tid=4090", b"<div class='post_body'>pharmacy orders</div>")
    site.route("/showthread.php?tid=4085", b"<div class='post_body'>config files</div>")
    state = FakeState(known=["3999", "4102", "4105", "4107"])
    items = poll(site.url("/Forum-Databases"), "html", state, preset="mybb", follow=True, pages=2)
    found = {item.item_id: item for item in items}
    assert list(found) == ["3999", "4101", "4102", "4105", "4107", "4090", "4085"]
    assert found["4101"].url == site.url("/showthread.php?tid=4101")
    assert found["4101"].text and found["4101"].text.startswith("Selling the full Mediboard export")
    assert found["4090"].text == "pharmacy orders"
    assert found["4102"].text is None
    paths = site.paths()
    assert paths[:2] == ["/Forum-Databases", "/Forum-Databases?page=2"]
    assert "/showthread.php?tid=4102" not in paths


def test_latin1_listing_served_without_charset(site: LoopbackSite) -> None:
    site.route("/f", fixture("hostile_latin1_nocharset.html"), headers={"Content-Type": "text/html"})
    items = poll(site.url("/f"), "html", preset="mybb")
    assert items[0].title == "Hôpital Saint-Étienne : données patients"


def test_challenge_page_fails_the_poll_with_its_reason(site: LoopbackSite) -> None:
    site.route("/f", fixture("hostile_cloudflare_challenge.html"))
    with pytest.raises(ParseError, match="^login or challenge page$"):
        poll(site.url("/f"), "html", preset="mybb")


def test_telegram_pages_back(site: LoopbackSite) -> None:
    site.route("/s/leakwatch_fr", fixture("telegram_channel_page1.html"))
    site.route("/s/leakwatch_fr?before=1201", fixture("telegram_channel_page2_before_1201.html"))
    items = poll(site.url("/s/leakwatch_fr"), "telegram", FakeState(last_item_id="leakwatch_fr/1199"), pages=3)
    assert [item.item_id for item in items][:3] == ["leakwatch_fr/1196", "leakwatch_fr/1197", "leakwatch_fr/1199"]
    assert len(items) == 10
    assert site.paths() == ["/s/leakwatch_fr", "/s/leakwatch_fr?before=1201"]


def test_rss_and_a_conditional_second_poll(site: LoopbackSite) -> None:
    site.route("/feed", fixture("rss2_feed.xml"), headers={"Content-Type": "application/rss+xml",
                                                           "ETag": '"v1"'})
    src = SourceConfig(name="loop", kind="rss", url=site.url("/feed"))
    opts = make_options(src)

    async def run() -> tuple[list, bool]:
        network = _network()
        try:
            fetch = network.fetcher(src)
            first = await module("rss").collect(fetch, opts, FakeState().state)
            site.route("/feed", b"", status=304, headers={"ETag": '"v1"'})
            try:
                await module("rss").collect(fetch, opts, FakeState().state)
            except NotModified:
                return first, True
            return first, False
        finally:
            await network.aclose()

    items, unchanged = asyncio.run(run())
    assert len(items) == 3
    assert unchanged
    assert site.requests[-1][2].get("if-none-match") == '"v1"'


def test_json_preset(site: LoopbackSite) -> None:
    site.route("/v2/recentvictims", fixture("ransomwarelive_v2_recentvictims.json"),
               headers={"Content-Type": "application/json"})
    items = poll(site.url("/v2/recentvictims"), "json", preset="ransomware.live")
    assert [item.title for item in items][0] == "CHU de Rennes"


def test_pastebin_fetches_new_paste_texts(site: LoopbackSite) -> None:
    site.route("/api_scraping.php?limit=100", fixture("pastebin_scraping_list.json"),
               headers={"Content-Type": "application/json"})
    site.route("/api_scrape_item.php?i=Ab3dEf9H", fixture("pastebin_raw_Ab3dEf9H.txt"),
               headers={"Content-Type": "text/plain; charset=utf-8"})
    site.route("/api_scrape_item.php?i=Zz9yXx8W", b"alert", headers={"Content-Type": "text/plain"})
    items = poll(site.url("/api_scraping.php?limit=100"), "pastebin", FakeState(known=["Qw7xYz12"]))
    found = {item.item_id: item for item in items}
    assert found["Ab3dEf9H"].text == "vpn.chu-rennes.fr\nuser: j.martin\npass: Hunter2!"
    assert found["Qw7xYz12"].text is None
    assert "/api_scrape_item.php?i=Qw7xYz12" not in site.paths()
