"""sources.html: presets on saved forum pages, selectors, paging and following with a fake Fetcher."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from monitor.errors import ConfigError, FetchError, NotModified, ParseError
from sources import html
from tests.support.sources import FakeFetcher, FakeState, fixture, options, page

UTC = UTC
FORUM = "http://forumleaks.example.onion/Forum-Databases"
PAGE2 = "http://forumleaks.example.onion/Forum-Databases?page=2"
THREAD_4101 = "http://forumleaks.example.onion/showthread.php?tid=4101"


def mybb(**keys: object) -> html.Options:
    return options("html", FORUM, preset="mybb", **keys)  # type: ignore[return-value]


def by_id(items: list) -> dict:
    return {item.item_id: item for item in items}


# ---------------------------------------------------------------- MyBB


def test_mybb_listing_ids_titles_urls_authors_dates() -> None:
    items = html.parse(page(FORUM, fixture("mybb_forumdisplay_page1.html")), mybb())
    assert [item.item_id for item in items] == ["3999", "4101", "4102", "4105", "4107"]
    found = by_id(items)
    opening = found["4101"]
    assert opening.title == "Mediboard database 758k patients"
    assert opening.url == THREAD_4101
    assert opening.author == "near2tlg"
    # "Yesterday" with the day in the title attribute and the time in the text
    assert opening.date == datetime(2024, 11, 19, 21, 12, tzinfo=UTC)
    assert found["4102"].title == "CHU de Rennesson staff list"
    assert found["4102"].date == datetime(2024, 11, 20, 6, 45, tzinfo=UTC)   # title attr, not "4 hours ago"
    assert found["4105"].url == "http://forumleaks.example.onion/Thread-chu-rennes-fr-combo"
    assert found["4105"].date == datetime(2024, 11, 18, 23, 59, tzinfo=UTC)  # absolute text date
    assert found["4107"].url == "http://forumleaks.example.onion/showthread.php?tid=4107"  # sid dropped
    for item in items:
        assert item.source == "src"
        assert item.date is None or item.date.tzinfo is not None


def test_mybb_sticky_is_an_item_and_the_announcement_row_is_skipped() -> None:
    listing = html.parse_listing(page(FORUM, fixture("mybb_forumdisplay_page1.html")), mybb())
    sticky = by_id(listing.items)["3999"]
    assert sticky.title == "[STICKY] Marketplace rules & escrow"
    assert sticky.author == "admin"
    assert listing.skipped == 1
    assert all("Announcement" not in item.title for item in listing.items)


def test_mybb_titles_are_plain_text() -> None:
    found = by_id(html.parse(page(FORUM, fixture("mybb_forumdisplay_page1.html")), mybb()))
    assert found["4105"].title == "chu-rennes[.]fr combo <script>alert(1)</script> fresh"
    assert found["4105"].author == "x0r <i>"
    assert found["4107"].title == "Invoice fdp.exe clinic scans"   # the bidi override is gone


def test_without_follow_text_is_the_row_text() -> None:
    found = by_id(html.parse(page(FORUM, fixture("mybb_forumdisplay_page1.html")), mybb()))
    text = found["4101"].text
    assert text is not None
    assert "[SELLING] Mediboard database 758k patients" in text
    assert "near2tlg" in text
    assert "\n" in text


def test_mybb_next_page_link_is_absolute() -> None:
    listing = html.parse_listing(page(FORUM, fixture("mybb_forumdisplay_page1.html")), mybb())
    assert listing.next_url == PAGE2
    last = html.parse_listing(page(PAGE2, fixture("mybb_forumdisplay_page2.html")), mybb())
    assert last.next_url is None


def test_mybb_ids_from_href_when_the_span_has_no_id() -> None:
    body = b"""<table><tr class="row"><td><a class="t" href="showthread.php?tid=55&amp;page=2">A</a></td></tr>
    <tr class="row"><td><a class="t" href="Thread-Some-dump">B</a></td></tr></table>"""
    opts = mybb(selectors={"item": "tr.row", "title": "a.t", "link": "a.t"})
    assert [item.item_id for item in html.parse(page(FORUM, body), opts)] == ["55", "Thread-Some-dump"]


# ---------------------------------------------------------------- XenForo, phpBB, pastebin archive


def test_xenforo_listing() -> None:
    url = "https://xf.example.net/forums/databases.12/"
    opts = options("html", url, preset="xenforo")
    listing = html.parse_listing(page(url, fixture("xenforo_forum_listing.html")), opts)  # type: ignore[arg-type]
    found = by_id(listing.items)
    assert list(found) == ["87001", "88123", "88130", "88131"]
    thread = found["88123"]
    assert thread.title == "Mediboard database 758k patients & appointments"   # not the "Selling" label
    assert thread.url == "https://xf.example.net/threads/mediboard-database-758k-patients.88123/"
    assert thread.author == "near2tlg"
    assert thread.date == datetime(2024, 11, 19, 20, 12, tzinfo=UTC)
    assert found["87001"].title == "Section rules: no scams, escrow only"
    assert found["88130"].author == "<b>evil</b>"
    assert found["88131"].title == "chu-rennes[.]fr combo <img src=x onerror=alert(1)>"
    assert listing.next_url == "https://xf.example.net/forums/databases.12/page-2"


def test_phpbb_listing() -> None:
    url = "http://bb.example.onion/forum/viewforum.php?f=7"
    opts = options("html", url, preset="phpbb")
    listing = html.parse_listing(page(url, fixture("phpbb_viewforum.html")), opts)  # type: ignore[arg-type]
    found = by_id(listing.items)
    assert list(found) == ["2", "123", "119"]
    topic = found["123"]
    assert topic.title == "Hôpital Saint-Joseph & Mediboard: 12k dossiers"
    assert topic.url == "http://bb.example.onion/forum/viewtopic.php?f=7&t=123"
    assert topic.author == "leakqueen"
    assert topic.date == datetime(2024, 11, 20, 7, 30, tzinfo=UTC)   # the topic's start, not the last post
    assert found["2"].author == "admin"                                 # username-coloured
    assert listing.next_url == "http://bb.example.onion/forum/viewforum.php?f=7&start=25"


def test_pastebin_archive_listing() -> None:
    url = "https://pastebin.com/archive"
    opts = options("html", url, preset="pastebin-archive")
    listing = html.parse_listing(page(url, fixture("pastebin_archive.html")), opts)  # type: ignore[arg-type]
    found = by_id(listing.items)
    assert list(found) == ["Ab3dEf9H", "Qw7xYz12", "Zz9yXx8W"]
    assert found["Ab3dEf9H"].url == "https://pastebin.com/Ab3dEf9H"
    assert found["Ab3dEf9H"].body_url == "https://pastebin.com/raw/Ab3dEf9H"
    assert found["Zz9yXx8W"].title == '<script>alert("paste")</script> & friends'


def test_pastebin_archive_follow_reads_the_raw_page() -> None:
    url = "https://pastebin.com/archive"
    opts = options("html", url, preset="pastebin-archive", follow=True)
    fetch = FakeFetcher(url, {
        url: fixture("pastebin_archive.html"),
        "https://pastebin.com/raw/Ab3dEf9H": fixture("pastebin_raw_Ab3dEf9H.txt"),
        "https://pastebin.com/raw/Qw7xYz12": b"print('hi')",
    }, content_type="text/html")
    fetch.pages["https://pastebin.com/raw/Zz9yXx8W"] = b"<b>not html</b>"
    state = FakeState(known=["Qw7xYz12"])
    items = by_id(asyncio.run(html.collect(fetch, opts, state.state)))  # type: ignore[arg-type]
    assert items["Ab3dEf9H"].text == "vpn.chu-rennes.fr\nuser: j.martin\npass: Hunter2!"
    assert items["Zz9yXx8W"].text == "<b>not html</b>"          # raw text, not parsed as HTML
    assert items["Qw7xYz12"].text is None
    assert "https://pastebin.com/raw/Qw7xYz12" not in fetch.urls


# ---------------------------------------------------------------- generic selectors


def test_generic_selectors_use_the_canonical_url_as_id() -> None:
    url = "https://leaks.example.org/list/"
    body = b"""<ul><li class="post"><h2><a href="../post/1?utm=x#top">First &amp; best</a></h2>
    <span class="by">alice</span><time datetime="2024-11-20T10:00:00Z">today</time></li>
    <li class="post"><h2><a href="/post/2">Second</a></h2></li>
    <li class="post"><h2>no link here</h2></li></ul>"""
    opts = options("html", url, selectors={"item": "li.post", "title": "h2", "link": "h2 a",
                                           "author": ".by", "date": "time"})
    items = html.parse(page(url, body), opts)  # type: ignore[arg-type]
    assert [(i.item_id, i.title) for i in items] == [("https://leaks.example.org/post/1?utm=x", "First & best"),
                                                      ("https://leaks.example.org/post/2", "Second")]
    assert items[0].author == "alice"
    assert items[0].date == datetime(2024, 11, 20, 10, 0, tzinfo=UTC)
    assert items[1].author is None and items[1].date is None


def test_preset_selectors_can_be_overridden() -> None:
    body = fixture("mybb_forumdisplay_page1.html")
    opts = mybb(selectors={"author": "span.lastpost a[href^='User-']"})
    found = by_id(html.parse(page(FORUM, body), opts))
    assert found["4101"].author == "buyer77"   # the last poster now
    assert found["4101"].title == "Mediboard database 758k patients"


# ---------------------------------------------------------------- failures of a listing


def test_no_items_is_a_parse_error_naming_the_cause() -> None:
    body = b"<html><title>Databases</title><body><table><tr><td>empty</td></tr></table></body></html>"
    with pytest.raises(ParseError, match="^no items found: the item selector matched nothing"):
        html.parse(page(FORUM, body), mybb())


@pytest.mark.parametrize("name", ["hostile_cloudflare_challenge.html", "hostile_login_page.html",
                                  "hostile_ddos_guard.html"])
def test_a_wall_instead_of_the_listing_says_so(name: str) -> None:
    with pytest.raises(ParseError, match="^login or challenge page$"):
        html.parse(page(FORUM, fixture(name)), mybb())


def test_a_listing_with_a_login_box_in_its_header_is_still_a_listing() -> None:
    # page 1 carries MyBB's quick-login form (a password input) for guests
    assert len(html.parse(page(FORUM, fixture("mybb_forumdisplay_page1.html")), mybb())) == 5


def test_rows_without_title_or_link_explain_themselves() -> None:
    body = b"<table><tr class='inline_row'><td>no thread link</td></tr></table>"
    with pytest.raises(ParseError, match="matched 1 element"):
        html.parse(page(FORUM, body), mybb())


# ---------------------------------------------------------------- paging


def test_pages_follow_next_links_and_dedupe() -> None:
    fetch = FakeFetcher(FORUM, {FORUM: fixture("mybb_forumdisplay_page1.html"),
                                PAGE2: fixture("mybb_forumdisplay_page2.html")})
    items = asyncio.run(html.collect(fetch, mybb(pages=3), FakeState().state))
    assert [item.item_id for item in items] == ["3999", "4101", "4102", "4105", "4107", "4090", "4085"]
    assert fetch.requests == [(FORUM, True), (PAGE2, False)]   # only the first page is conditional


def test_one_page_by_default() -> None:
    fetch = FakeFetcher(FORUM, {FORUM: fixture("mybb_forumdisplay_page1.html")})
    items = asyncio.run(html.collect(fetch, mybb(), FakeState().state))
    assert len(items) == 5
    assert fetch.urls == [FORUM]


def test_a_next_link_to_another_origin_is_not_followed(caplog: pytest.LogCaptureFixture) -> None:
    body = fixture("mybb_forumdisplay_page1.html").replace(
        b'href="Forum-Databases?page=2" class="pagination_next"',
        b'href="http://mirror.example.net/Forum-Databases?page=2" class="pagination_next"')
    fetch = FakeFetcher(FORUM, {FORUM: body})
    with caplog.at_level(logging.WARNING):
        items = asyncio.run(html.collect(fetch, mybb(pages=2), FakeState().state))
    assert len(items) == 5
    assert fetch.urls == [FORUM]
    assert "leaves the source's origin" in caplog.text


def test_a_broken_second_page_keeps_the_first() -> None:
    fetch = FakeFetcher(FORUM, {FORUM: fixture("mybb_forumdisplay_page1.html"),
                                PAGE2: FetchError("HTTP 502", PAGE2, status=502)})
    items = asyncio.run(html.collect(fetch, mybb(pages=2), FakeState().state))
    assert len(items) == 5


def test_an_unchanged_listing_propagates_not_modified() -> None:
    fetch = FakeFetcher(FORUM, {FORUM: fixture("mybb_forumdisplay_page1.html")}, unchanged=[FORUM])
    with pytest.raises(NotModified):
        asyncio.run(html.collect(fetch, mybb(follow=True), FakeState().state))


def test_a_failing_listing_fails_the_poll() -> None:
    fetch = FakeFetcher(FORUM, {FORUM: FetchError("HTTP 503", FORUM, status=503)})
    with pytest.raises(FetchError, match="HTTP 503"):
        asyncio.run(html.collect(fetch, mybb(), FakeState().state))


# ---------------------------------------------------------------- following items


def thread_pages() -> dict:
    base = "http://forumleaks.example.onion/"
    return {
        FORUM: fixture("mybb_forumdisplay_page1.html"),
        THREAD_4101: fixture("mybb_showthread_4101.html"),
        base + "showthread.php?tid=4102": b"<div class='post_body'>staff list of CHU de Rennesson</div>",
        base + "Thread-chu-rennes-fr-combo": b"<div class='post_body'>combo<br>line two</div>",
        base + "showthread.php?tid=4107": b"<div class='post_body'>scans</div>",
        base + "Thread-Marketplace-rules-escrow": b"<div class='post_body'>rules</div>",
    }


def test_follow_fetches_new_items_once_and_takes_the_opening_post() -> None:
    fetch = FakeFetcher(FORUM, thread_pages())
    state = FakeState(known=["3999", "4102"])
    items = by_id(asyncio.run(html.collect(fetch, mybb(follow=True), state.state)))
    opening = items["4101"].text
    assert opening is not None
    assert opening.startswith("Selling the full Mediboard export of a French hospital group.\n\n758,912 patient")
    assert "id;nom;prenom;ddn;nir\n1;DUPONT" in opening
    assert "pm sent" not in opening and "bump" not in opening       # replies are not the body
    assert items["4105"].text == "combo\nline two"
    assert items["3999"].text is None and items["4102"].text is None  # known: never fetched again
    assert "http://forumleaks.example.onion/showthread.php?tid=4102" not in fetch.urls
    assert "http://forumleaks.example.onion/Thread-Marketplace-rules-escrow" not in fetch.urls
    assert state.asked == [["3999", "4101", "4102", "4105", "4107"]]


def test_follow_retries_a_failing_item_page_and_keeps_a_gone_one(caplog: pytest.LogCaptureFixture) -> None:
    pages = thread_pages()
    pages["http://forumleaks.example.onion/Thread-chu-rennes-fr-combo"] = FetchError("HTTP 500", status=500)
    pages["http://forumleaks.example.onion/showthread.php?tid=4102"] = FetchError("HTTP 404", status=404)
    fetch = FakeFetcher(FORUM, pages)
    with caplog.at_level(logging.WARNING):
        items = by_id(asyncio.run(html.collect(fetch, mybb(follow=True), FakeState().state)))
    assert "4105" not in items             # left out: still new next poll, its page fetched again then
    assert items["4102"].text == ""         # deleted thread: kept without its body
    assert items["4101"].text and "Mediboard" in items["4101"].text
    assert "HTTP 500" in caplog.text and "retried next poll" in caplog.text


def test_follow_keeps_an_off_origin_item_without_its_body(caplog: pytest.LogCaptureFixture) -> None:
    body = fixture("mybb_forumdisplay_page1.html").replace(
        b'href="showthread.php?tid=4102"', b'href="http://elsewhere.example.com/showthread.php?tid=4102"')
    pages = thread_pages()
    pages[FORUM] = body
    fetch = FakeFetcher(FORUM, pages)
    with caplog.at_level(logging.WARNING):
        items = by_id(asyncio.run(html.collect(fetch, mybb(follow=True), FakeState().state)))
    assert items["4102"].text == ""
    assert items["4102"].url == "http://elsewhere.example.com/showthread.php?tid=4102"
    assert not any("elsewhere" in url for url in fetch.urls)
    assert "outside the source's origin" in caplog.text


def test_follow_fails_the_poll_when_every_item_page_fails() -> None:
    pages = {url: FetchError("timed out after 30s") for url in thread_pages() if url != FORUM}
    fetch = FakeFetcher(FORUM, {**pages, FORUM: fixture("mybb_forumdisplay_page1.html")})
    with pytest.raises(FetchError, match="timed out"):
        asyncio.run(html.collect(fetch, mybb(follow=True), FakeState().state))


def test_follow_with_every_item_page_gone_still_succeeds() -> None:
    fetch = FakeFetcher(FORUM, {FORUM: fixture("mybb_forumdisplay_page1.html")})   # every thread 404s
    items = asyncio.run(html.collect(fetch, mybb(follow=True), FakeState().state))
    assert items and all(item.text == "" for item in items)


def test_follow_with_everything_known_fetches_nothing() -> None:
    fetch = FakeFetcher(FORUM, {FORUM: fixture("mybb_forumdisplay_page1.html")})
    state = FakeState(known=["3999", "4101", "4102", "4105", "4107"])
    items = asyncio.run(html.collect(fetch, mybb(follow=True), state.state))
    assert fetch.urls == [FORUM]
    assert all(item.text is None for item in items)


def test_xenforo_follow_takes_the_first_message_body() -> None:
    url = "https://xf.example.net/forums/databases.12/"
    opts = options("html", url, preset="xenforo", follow=True)
    fetch = FakeFetcher(url, {
        url: fixture("xenforo_forum_listing.html"),
        "https://xf.example.net/threads/mediboard-database-758k-patients.88123/": fixture("xenforo_thread_88123.html"),
    })
    state = FakeState(known=["87001", "88130", "88131"])
    items = by_id(asyncio.run(html.collect(fetch, opts, state.state)))  # type: ignore[arg-type]
    assert items["88123"].text == ("Full Mediboard export, 758,912 patients.\nFields: nom, prenom, NIR, medecin, RDV."
                                   "\n\nPrice in PM.")


# ---------------------------------------------------------------- make_options


@pytest.mark.parametrize(("keys", "key", "problem"), [
    ({"preset": "vbulletin"}, "preset", "is not an html preset"),
    ({"selectors": {"item": "tr", "title": "a", "link": "a", "bogus": "x"}}, "selectors.bogus", "unknown selector"),
    ({"selectors": {"title": "a", "link": "a"}}, "selectors.item", "is required"),
    ({"selectors": {"item": "tr", "link": "a"}}, "selectors.title", "is required"),
    ({"selectors": {"item": "tr", "title": "a"}}, "selectors.link", "is required"),
    ({"selectors": {"item": "tr[[", "title": "a", "link": "a"}}, "selectors.item", "not a valid CSS selector"),
    ({"preset": "mybb", "selectors": {"next": ""}}, "selectors.next", "must not be empty"),
    ({"selectors": {"item": "tr", "title": "a", "link": "a"}, "follow": True}, "selectors.body", "body selector"),
    ({"preset": "mybb", "items": "data"}, "items", "only for json"),
    ({"preset": "mybb", "fields": {"title": "t"}}, "fields", "only for json"),
])
def test_make_options_rejects_mistakes(keys: dict, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        options("html", FORUM, **keys)
    assert info.value.key == key
    assert problem in info.value.problem


def test_make_options_merges_preset_and_selectors() -> None:
    opts = mybb(selectors={"body": "div.post_body#pid_1"}, follow=True, pages=2)
    assert opts.selectors.item == "tr.inline_row"
    assert opts.selectors.body == "div.post_body#pid_1"
    assert (opts.source, opts.url, opts.preset, opts.follow, opts.pages) == ("src", FORUM, "mybb", True, 2)


def test_pastebin_archive_follow_needs_no_body_selector() -> None:
    opts = options("html", "https://pastebin.com/archive", preset="pastebin-archive", follow=True)
    assert opts.follow  # type: ignore[attr-defined]
