"""sources.rss: RSS 2.0 and Atom fixtures through feedparser."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from monitor.errors import ConfigError, NotModified, ParseError
from sources import rss
from tests.support.sources import FakeFetcher, FakeState, fixture, options, page

UTC = UTC
FEED = "https://news.example.fr/feed/"
ATOM = "https://tracker.example.org/atom.xml"


def opts(url: str = FEED) -> rss.Options:
    return options("rss", url)  # type: ignore[return-value]


def test_rss2_items() -> None:
    items = rss.parse(page(FEED, fixture("rss2_feed.xml"), "application/rss+xml"), opts())
    assert [item.item_id for item in items] == ["https://news.example.fr/?p=90210", "https://news.example.fr/?p=90150",
                                                "https://news.example.fr/2024/11/18/rennesson/"]  # guid, else link
    first = items[0]
    assert first.title == "Fuite de données : 758 000 patients via Mediboard"
    assert first.url == "https://news.example.fr/2024/11/20/fuite-mediboard/"
    assert first.author == "Rédaction"
    assert first.date == datetime(2024, 11, 20, 8, 15, tzinfo=UTC)
    assert first.source == "src"


def test_rss2_text_is_the_full_content_without_markup_with_lines() -> None:
    first = rss.parse(page(FEED, fixture("rss2_feed.xml")), opts())[0]
    assert first.text == ("Un pirate affirme détenir les dossiers de 758 912 patients, dérobés via un compte "
                          "Mediboard.\nÉtablissements concernés :\nCHU de Rennes\nHôpital Saint-Joseph")
    assert "tracker" not in (first.text or "")    # the script in the content is not text


def test_rss2_titles_and_relative_links() -> None:
    second = rss.parse(page(FEED, fixture("rss2_feed.xml")), opts())[1]
    assert second.title == "<script>alert(1)</script> & other XSS in titles"
    assert second.url == "https://news.example.fr/2024/11/19/xss-titles/"
    assert second.date == datetime(2024, 11, 19, 18, 0, tzinfo=UTC)
    assert second.text == "Plain summary with <b>escaped</b> markup."


def test_atom_items() -> None:
    items = rss.parse(page(ATOM, fixture("atom_feed.xml"), "application/atom+xml"), opts(ATOM))
    assert [item.item_id for item in items] == ["urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a",
                                                "tag:tracker.example.org,2024:breach-77"]
    first, second = items
    assert first.title == "Softway Medical customer portal breached"          # type="html" title stripped
    assert first.author == "Tracker Bot"
    assert first.date == datetime(2024, 11, 20, 7, 0, tzinfo=UTC)             # published before updated
    assert first.text == "Attackers claim access to the Softway portal.\nSecond paragraph\nwith a break."
    assert second.url == "https://tracker.example.org/breach/only-updated"
    assert second.date == datetime(2024, 11, 19, 23, 30, tzinfo=UTC)
    assert second.text == "XHTML content about CHU de Rennes."


def test_empty_feed_is_no_items() -> None:
    body = b"<?xml version='1.0'?><rss version='2.0'><channel><title>Quiet</title></channel></rss>"
    assert rss.parse(page(FEED, body), opts()) == []


@pytest.mark.parametrize("name", ["hostile_empty.html", "hostile_random.bin", "mybb_forumdisplay_page1.html",
                                  "ransomwatch_posts.json"])
def test_not_a_feed(name: str) -> None:
    with pytest.raises(ParseError, match="not an RSS or Atom feed"):
        rss.parse(page(FEED, fixture(name)), opts())


def test_a_challenge_instead_of_the_feed_says_so() -> None:
    with pytest.raises(ParseError, match="^login or challenge page$"):
        rss.parse(page(FEED, fixture("hostile_cloudflare_challenge.html")), opts())


def test_collect_is_conditional_and_propagates_not_modified() -> None:
    fetch = FakeFetcher(FEED, {FEED: fixture("rss2_feed.xml")})
    assert len(asyncio.run(rss.collect(fetch, opts(), FakeState().state))) == 3
    assert fetch.requests == [(FEED, True)]
    fetch = FakeFetcher(FEED, {FEED: fixture("rss2_feed.xml")}, unchanged=[FEED])
    with pytest.raises(NotModified):
        asyncio.run(rss.collect(fetch, opts(), FakeState().state))


@pytest.mark.parametrize(("keys", "key"), [({"preset": "mybb"}, "preset"), ({"selectors": {"item": "x"}}, "selectors"),
                                           ({"items": "x"}, "items"), ({"fields": {"title": "t"}}, "fields"),
                                           ({"follow": True}, "follow"), ({"pages": 3}, "pages")])
def test_make_options_rejects_keys_of_other_kinds(keys: dict, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        options("rss", FEED, **keys)
    assert info.value.key == key
