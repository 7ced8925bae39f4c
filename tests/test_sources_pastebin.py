"""sources.pastebin: the scraping API listing and the text of new pastes, with a fake Fetcher."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from monitor.errors import ConfigError, FetchError, NotModified, ParseError
from sources import pastebin
from tests.support.sources import FakeFetcher, FakeState, fixture, options, page

UTC = UTC
API = "https://scrape.pastebin.com/api_scraping.php?limit=100"
ITEM = "https://scrape.pastebin.com/api_scrape_item.php?i="


def opts() -> pastebin.Options:
    return options("pastebin", API)  # type: ignore[return-value]


def test_listing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        items = pastebin.parse(page(API, fixture("pastebin_scraping_list.json"), "application/json"), opts())
    assert [item.item_id for item in items] == ["Ab3dEf9H", "Qw7xYz12", "Zz9yXx8W"]   # the "../etc" key is skipped
    first, untitled, markup = items
    assert first.url == "https://pastebin.com/Ab3dEf9H"
    assert first.title == "chu-rennes.fr VPN creds"
    assert first.author == "anon_dumper"
    assert first.date == datetime(2024, 11, 20, 9, 0, tzinfo=UTC)
    assert first.body_url == ITEM + "Ab3dEf9H"
    assert first.text is None
    assert untitled.title == "(untitled paste Qw7xYz12)" and untitled.author is None
    assert markup.title == '<script>alert("paste")</script> & friends'
    assert "1 paste record(s) skipped" in caplog.text


def test_refused_ip_is_a_clear_parse_error() -> None:
    with pytest.raises(ParseError, match=r"^pastebin scraping API refused this IP: it must be whitelisted \(Pastebin PRO\)$"):
        pastebin.parse(page(API, fixture("pastebin_api_refused.txt"), "text/html"), opts())


@pytest.mark.parametrize(("body", "message"), [(b"", "invalid JSON"), (b"<html>oops", "invalid JSON"),
                                               (b'{"error": 1}', "not a list")])
def test_bad_answers(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        pastebin.parse(page(API, body), opts())


def fetcher() -> FakeFetcher:
    return FakeFetcher(API, {API: fixture("pastebin_scraping_list.json"),
                             ITEM + "Ab3dEf9H": fixture("pastebin_raw_Ab3dEf9H.txt"),
                             ITEM + "Qw7xYz12": b"import os\r\nprint(os.environ)\r\n",
                             ITEM + "Zz9yXx8W": b"<script>alert(1)</script>"},
                       content_type="text/plain; charset=utf-8")


def test_collect_fetches_the_text_of_new_pastes_only() -> None:
    fetch = fetcher()
    state = FakeState(known=["Qw7xYz12"])
    items = {item.item_id: item for item in asyncio.run(pastebin.collect(fetch, opts(), state.state))}
    assert items["Ab3dEf9H"].text == "vpn.chu-rennes.fr\nuser: j.martin\npass: Hunter2!"
    assert items["Zz9yXx8W"].text == "<script>alert(1)</script>"
    assert items["Qw7xYz12"].text is None
    assert fetch.requests == [(API, True), (ITEM + "Ab3dEf9H", False), (ITEM + "Zz9yXx8W", False)]
    assert state.asked == [["Ab3dEf9H", "Qw7xYz12", "Zz9yXx8W"]]


def test_one_failing_paste_keeps_the_others() -> None:
    fetch = fetcher()
    fetch.pages[ITEM + "Zz9yXx8W"] = FetchError("HTTP 404", status=404)
    items = {item.item_id: item for item in asyncio.run(pastebin.collect(fetch, opts(), FakeState().state))}
    assert items["Zz9yXx8W"].text == ""
    assert items["Ab3dEf9H"].text and "vpn" in items["Ab3dEf9H"].text


def test_every_paste_failing_fails_the_poll() -> None:
    fetch = fetcher()
    for key in ("Ab3dEf9H", "Qw7xYz12", "Zz9yXx8W"):
        fetch.pages[ITEM + key] = FetchError("HTTP 503", status=503)
    with pytest.raises(FetchError, match="HTTP 503"):
        asyncio.run(pastebin.collect(fetch, opts(), FakeState().state))


def test_a_transiently_failing_paste_is_left_for_the_next_poll() -> None:
    fetch = fetcher()
    fetch.pages[ITEM + "Zz9yXx8W"] = FetchError("timed out after 30s")
    items = {item.item_id: item for item in asyncio.run(pastebin.collect(fetch, opts(), FakeState().state))}
    assert "Zz9yXx8W" not in items and items["Ab3dEf9H"].text


def test_unchanged_listing_propagates() -> None:
    fetch = fetcher()
    fetch.unchanged.add(API)
    with pytest.raises(NotModified):
        asyncio.run(pastebin.collect(fetch, opts(), FakeState().state))


def test_item_url_stays_next_to_the_listing() -> None:
    assert pastebin.item_url(opts(), "Ab3dEf9H") == ITEM + "Ab3dEf9H"
    loop = options("pastebin", "http://127.0.0.1:8123/api_scraping.php?limit=5")
    assert pastebin.item_url(loop, "K") == "http://127.0.0.1:8123/api_scrape_item.php?i=K"  # type: ignore[arg-type]


@pytest.mark.parametrize(("keys", "key"), [({"preset": "mybb"}, "preset"), ({"selectors": {"item": "x"}}, "selectors"),
                                           ({"items": "x"}, "items"), ({"fields": {"title": "t"}}, "fields"),
                                           ({"pages": 2}, "pages")])
def test_make_options_rejects_keys_of_other_kinds(keys: dict, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        options("pastebin", API, **keys)
    assert info.value.key == key
