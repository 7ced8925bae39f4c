"""Hostile input: every ``parse`` either returns items or raises ParseError, whatever the bytes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import ParseError
from monitor.records import Item
from sources import html, pastebin, rss, telegram
from sources import json as json_source
from tests.support.sources import fixture, options, page

PARSERS: dict[str, tuple[str, Callable[[], object], Callable]] = {
    "html-mybb": ("http://forum.example.onion/Forum-Databases",
                  lambda: options("html", "http://forum.example.onion/Forum-Databases", preset="mybb"), html.parse),
    "html-xenforo": ("https://xf.example.net/forums/x.1/",
                     lambda: options("html", "https://xf.example.net/forums/x.1/", preset="xenforo"), html.parse),
    "html-phpbb": ("http://bb.example.onion/viewforum.php?f=1",
                   lambda: options("html", "http://bb.example.onion/viewforum.php?f=1", preset="phpbb"), html.parse),
    "html-pastebin": ("https://pastebin.com/archive",
                      lambda: options("html", "https://pastebin.com/archive", preset="pastebin-archive"), html.parse),
    "html-generic": ("https://x.example/list", lambda: options(
        "html", "https://x.example/list",
        selectors={"item": "li", "title": "a", "link": "a", "author": ".by", "date": "time", "next": "a[rel=next]"}),
        html.parse),
    "telegram": ("https://t.me/s/leakwatch_fr", lambda: options("telegram", "https://t.me/s/leakwatch_fr"),
                 telegram.parse),
    "rss": ("https://news.example.fr/feed/", lambda: options("rss", "https://news.example.fr/feed/"), rss.parse),
    "json-ransomware.live": ("https://api.ransomware.live/v2/recentvictims",
                             lambda: options("json", "https://api.ransomware.live/v2/recentvictims",
                                             preset="ransomware.live"), json_source.parse),
    "json-hibp": ("https://haveibeenpwned.com/api/v3/breaches",
                  lambda: options("json", "https://haveibeenpwned.com/api/v3/breaches", preset="hibp"),
                  json_source.parse),
    "json-generic": ("https://x.example/api", lambda: options(
        "json", "https://x.example/api", items="data.rows",
        fields={"id": "id", "title": "t", "url": "u", "date": "d", "body": "b", "author": "a"}), json_source.parse),
    "pastebin": ("https://scrape.pastebin.com/api_scraping.php?limit=100",
                 lambda: options("pastebin", "https://scrape.pastebin.com/api_scraping.php?limit=100"),
                 pastebin.parse),
}
BUILT = {name: (url, make(), parse) for name, (url, make, parse) in PARSERS.items()}

HOSTILE = ["hostile_empty.html", "hostile_random.bin", "hostile_latin1_nocharset.html", "hostile_nul_bytes.html",
           "hostile_cloudflare_challenge.html", "hostile_ddos_guard.html", "hostile_login_page.html",
           "pastebin_api_refused.txt"]


def outcome(name: str, body: bytes, content_type: str = "text/html") -> list[Item] | ParseError:
    url, opts, parse = BUILT[name]
    try:
        items = parse(page(url, body, content_type), opts)
    except ParseError as exc:
        assert str(exc)       # a reason in words, never empty
        return exc
    assert isinstance(items, list)
    for item in items:
        assert isinstance(item, Item)
        assert item.item_id and isinstance(item.title, str) and isinstance(item.url, str)
        assert item.date is None or item.date.tzinfo is not None
        assert "\x00" not in item.title and "\x00" not in (item.text or "")
    return items


@pytest.mark.parametrize("fixture_name", HOSTILE)
@pytest.mark.parametrize("parser", list(PARSERS))
def test_hostile_fixtures_give_items_or_a_parse_error(parser: str, fixture_name: str) -> None:
    outcome(parser, fixture(fixture_name))


def test_walls_are_named_as_such_by_every_html_kind() -> None:
    for parser in ("html-mybb", "html-xenforo", "html-phpbb", "html-generic", "telegram"):
        for name in ("hostile_cloudflare_challenge.html", "hostile_ddos_guard.html", "hostile_login_page.html"):
            result = outcome(parser, fixture(name))
            assert isinstance(result, ParseError) and str(result) == "login or challenge page", (parser, name)


def test_latin1_listing_without_charset_parses() -> None:
    result = outcome("html-mybb", fixture("hostile_latin1_nocharset.html"))
    assert isinstance(result, list)
    assert result[0].title == "Hôpital Saint-Étienne : données patients"
    assert result[0].author == "rémi"


def test_nul_bytes_do_not_hide_a_title() -> None:
    result = outcome("html-mybb", fixture("hostile_nul_bytes.html"))
    assert isinstance(result, list)
    assert result[0].item_id == "5"
    assert result[0].title.startswith("Mediboard")


# Tokens of the structures the parsers look for, so random documents reach deep into them.
TOKENS = [
    b"<tr class='inline_row'>", b"<span id='tid_12'>", b"<a href='", b"showthread.php?tid=9", b"'>", b"</a>",
    b"<div class='structItem structItem--thread js-threadListItem-77' data-author='x'>",
    b"<div class='structItem-title'>", b"<time datetime='", b"2024-11-20T10:00:00Z", b"99999-99-99", b"'>",
    b"<div class='tgme_widget_message' data-post='chan_name/12'>", b"<div class='tgme_widget_message_text'>",
    b"<a class='tgme_widget_message_reply'>", b"<br>", b"<li>", b"<ul class='topiclist topics'><li class='row'>",
    b"<a class='topictitle' href='viewtopic.php?t=3'>", b"<table class='maintable'><tr><td>", b"<a href='/AbCdEfGh'>",
    b"<rss version='2.0'><channel><item><title>", b"</title><link>", b"</link></item></channel></rss>",
    b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><title type='html'>", b"&lt;b&gt;", b"&amp;", b"&#0;",
    b"[", b"]", b"{", b"}", b'"key": ', b'"title": ', b'"data": {"rows": ', b'"victim": ', b'"date": ',
    b'"1442911802"', b"null", b"1e999", b",", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"<!--", b"<![CDATA[",
    b"<meta charset='utf-16'>", b"<meta charset='x-unknown'>", b"<script>", b"</script>", b"title='11-20-2024'",
    b"\xe2\x80\xae", b"\xc3", b" ", b"\n",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(list(PARSERS)), body=st.binary(max_size=2048))
def test_any_bytes_give_items_or_a_parse_error(name: str, body: bytes) -> None:
    outcome(name, body)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(list(PARSERS)), parts=st.lists(st.sampled_from(TOKENS), max_size=60),
       content_type=st.sampled_from(["text/html", "text/html; charset=latin-1", "application/json",
                                     "text/plain; charset=bogus", "application/rss+xml; charset=utf-16"]))
def test_token_soup_gives_items_or_a_parse_error(name: str, parts: list[bytes], content_type: str) -> None:
    outcome(name, b"".join(parts), content_type)
