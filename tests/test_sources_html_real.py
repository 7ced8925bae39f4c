"""sources.html on pages as forums write them: ::attr() selectors, titles cut by the theme, relative
dates, item-page titles, and a forum index given instead of a thread list."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from monitor.errors import ConfigError, ParseError
from sources import html
from tests.support.sources import FakeFetcher, FakeState, fixture, options, page

UTC = UTC
BASE = "http://breachboard.example.onion/"
FORUM = BASE + "Forum-Databases"
XF = "http://xsboard.example.onion/forums/databases.12/"


def by_id(items: list) -> dict:
    return {item.item_id: item for item in items}


def test_mybb_prefers_the_link_title_attribute_when_the_visible_title_is_cut() -> None:
    items = by_id(html.parse(page(FORUM, fixture("mybb_forumdisplay_truncated.html")),
                             options("html", FORUM, preset="mybb")))  # type: ignore[arg-type]
    assert items["5101"].title == "French Operator(s) (Orange, SFR, Bouygues) customers 2026"
    assert items["5090"].title == "Axicorp HR export (payroll, IBAN)"
    # decoy: a tooltip that does not continue the visible text is not the title
    assert items["5102"].title == "Clinique des Cèdres Toulouse pat..."
    # relative dates: the title attribute wins ("Less than 1 minute ago", "1 hour ago")
    assert items["5101"].date == datetime(2026, 11, 29, 19, 1, tzinfo=UTC)
    assert items["5102"].date == datetime(2026, 11, 29, tzinfo=UTC)


def test_xenforo_prefers_the_link_title_attribute_when_the_visible_title_is_cut() -> None:
    items = html.parse(page(XF, fixture("xenforo_listing_truncated.html")),
                       options("html", XF, preset="xenforo"))  # type: ignore[arg-type]
    assert [(i.item_id, i.title) for i in items] == [("90210", "Santélys home-care patients and nurses, 2026")]
    assert items[0].date == datetime(2026, 11, 29, 18, 0, tzinfo=UTC)


def test_attr_selectors_take_the_attribute() -> None:
    opts = options("html", FORUM, selectors={
        "item": "tr.inline_row", "title": "span[id^='tid_'] > a::attr(title)", "link": "span[id^='tid_'] > a",
        "author": "span.author a::attr(href)", "date": "span.thread_start_datetime span::attr(title)"})
    items = by_id(html.parse(page(FORUM, fixture("mybb_forumdisplay_truncated.html")), opts))  # type: ignore[arg-type]
    assert items[BASE + "Thread-French-Operator-s-Orange-SFR-Bouygues-customers"].title == \
        "French Operator(s) (Orange, SFR, Bouygues) customers 2026"
    # taken as written, even when it is only a tooltip
    clinique = items[BASE + "Thread-Clinique-des-Cedres-Toulouse-patients"]
    assert clinique.title == "Click to read this thread"
    assert clinique.author == "User-ghost"
    assert clinique.date == datetime(2026, 11, 29, tzinfo=UTC)
    # a row whose date has no span[title] has no date (the attribute, not the text, was asked for)
    assert items[BASE + "Thread-Axicorp-HR-export"].date is None


def test_link_and_next_accept_attr() -> None:
    body = (b"<div class='t'><a class='x' data-href='/t/1' href='/wrong'>One</a></div>"
            b"<a class='more' data-next='/list?p=2'>more</a>")
    opts = options("html", BASE + "list", selectors={"item": "div.t", "title": "a.x", "link": "a.x::attr(data-href)",
                                                   "next": "a.more::attr(data-next)"})
    listing = html.parse_listing(page(BASE + "list", body), opts)  # type: ignore[arg-type]
    assert [i.url for i in listing.items] == [BASE + "t/1"]
    assert listing.next_url == BASE + "list?p=2"


@pytest.mark.parametrize(("selector", "problem"), [
    ("a::attr(title", "::attr() is malformed"),
    ("a::attr()", "::attr() is malformed"),
    ("a::attr(title) span", "::attr() is malformed"),
    ("a::attr(ti tle)", "::attr() is malformed"),
    ("::attr(title)", "needs a CSS selector before it"),
    ("a[[::attr(title)", "is not a valid CSS selector"),
])
def test_malformed_attr_is_a_config_error(selector: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        options("html", FORUM, selectors={"item": "tr", "title": selector, "link": "a"})
    assert err.value.key == "selectors.title" and problem in str(err.value)


def test_attr_on_the_item_selector_is_refused() -> None:
    with pytest.raises(ConfigError) as err:
        options("html", FORUM, selectors={"item": "tr::attr(id)", "title": "a", "link": "a"})
    assert err.value.key == "selectors.item" and "makes no sense" in str(err.value)


def test_follow_replaces_a_cut_title_with_the_item_page_title() -> None:
    pages = {FORUM: fixture("mybb_forumdisplay_truncated.html"),
             BASE + "Thread-Clinique-des-Cedres-Toulouse-patients": fixture("mybb_showthread_5102.html"),
             BASE + "Thread-French-Operator-s-Orange-SFR-Bouygues-customers":
                 b"<html><head><title>Unrelated</title></head><div class='post_body'>op</div></html>",
             BASE + "Thread-Axicorp-HR-export": b"<h1>Something else entirely</h1><div class='post_body'>hr</div>"}
    fetch = FakeFetcher(FORUM, pages)
    items = by_id(asyncio.run(html.collect(fetch, options("html", FORUM, preset="mybb", follow=True),  # type: ignore[arg-type]
                                           FakeState().state)))
    assert items["5102"].title == "Clinique des Cèdres Toulouse patients and staff"
    assert items["5102"].text is not None and items["5102"].text.startswith("Dump of the Clinique des Cèdres")
    # already whole from the attribute; a page heading that does not continue the title changes nothing
    assert items["5101"].title == "French Operator(s) (Orange, SFR, Bouygues) customers 2026"
    assert items["5090"].title == "Axicorp HR export (payroll, IBAN)"


@pytest.mark.parametrize(("name", "url", "preset"), [
    ("mybb_index.html", BASE + "index.php", "mybb"),
    ("xenforo_index.html", "http://xsboard.example.onion/", "xenforo"),
])
def test_a_forum_index_says_so_and_suggests_a_thread_list(name: str, url: str, preset: str) -> None:
    with pytest.raises(ParseError) as err:
        html.parse(page(url, fixture(name)), options("html", url, preset=preset))  # type: ignore[arg-type]
    reason = err.value.reason
    assert "forum index" in reason and "thread list" in reason
    assert "outdated selectors" not in reason
    assert reason.endswith(("/Forum-Leaks", "/forums/databases.12/"))   # the first forum link, absolute


def test_an_empty_page_is_still_outdated_selectors_or_a_login_wall() -> None:
    with pytest.raises(ParseError) as err:
        html.parse(page(FORUM, b"<html><body><a href='Forum-Databases'>one forum</a></body></html>"),
                   options("html", FORUM, preset="mybb"))  # type: ignore[arg-type]
    assert err.value.reason == html.NO_ITEMS


def test_explain_names_the_selector_of_every_field() -> None:
    shown = html.explain(page(FORUM, fixture("mybb_forumdisplay_truncated.html")),
                         options("html", FORUM, preset="mybb"), limit=2)  # type: ignore[arg-type]
    assert len(shown) == 2
    first = shown[0]
    assert first["title"] == ("French Operator(s) (Orange, SFR, Bouygues) customers 2026",
                              "the title attribute of span[id^='tid_'] > a, a[id^='tid_'] (the visible text is cut)")
    assert first["item_id"] == ("5101", "mybb id rule")
    assert first["author"][0] == "kiwi" and first["author"][1].startswith("span.author a")
    assert first["date"][0] == datetime(2026, 11, 29, 19, 1, tzinfo=UTC)
    assert first["date"][1].endswith("-> span[title]")


def test_a_cut_listing_title_does_not_undo_the_whole_title_stored(tmp_path) -> None:
    from monitor.records import Item, PollRecord
    from monitor.store import Store

    store = Store(str(tmp_path / "s.db"))

    def save(item: Item) -> None:
        poll = PollRecord(source="forum", started=datetime(2026, 11, 29, tzinfo=UTC), duration=0.1, ok=True,
                          error=None, items=1)
        store.save_poll(poll, [item], {}, {}, failure_threshold=3, health_chats=())

    whole = Item(source="forum", item_id="5102", url=BASE + "t", title="Clinique des Cèdres Toulouse patients and staff",
                 text="op")
    save(whole)
    cut = Item(source="forum", item_id="5102", url=BASE + "t", title="Clinique des Cèdres Toulouse pat...", text=None)
    assert store.to_match("forum", [cut]) == []           # not a change: nothing to match again
    save(cut)
    renamed = Item(source="forum", item_id="5102", url=BASE + "t", title="Clinique des Cèdres: sold", text=None)
    assert store.to_match("forum", [renamed]) != []       # a real new title still is one
    assert store._lookup("forum", ["5102"])["5102"][1] == "Clinique des Cèdres Toulouse patients and staff"
    store.close()


def test_a_date_attr_holding_only_the_day_takes_the_time_from_the_text() -> None:
    body = (b"<tr class='r'><td><a class='t' href='/t/1'>One</a>"
            b"<span class='d' title='11-29-2026'>Today, 06:20 PM</span></td></tr>")
    opts = options("html", BASE + "f", selectors={"item": "tr.r", "title": "a.t", "link": "a.t",
                                                "date": "span.d::attr(title)"})
    items = html.parse(page(BASE + "f", b"<table>" + body + b"</table>"), opts)  # type: ignore[arg-type]
    assert items[0].date == datetime(2026, 11, 29, 18, 20, tzinfo=UTC)
