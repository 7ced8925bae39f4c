"""sources.telegram: t.me/s previews parsed from saved pages, ?before= paging with a fake Fetcher."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from monitor.errors import ConfigError, FetchError, NotModified, ParseError
from sources import telegram
from tests.support.sources import FakeFetcher, FakeState, fixture, options, page

UTC = UTC
CHANNEL = "https://t.me/s/leakwatch_fr"
BEFORE_1201 = CHANNEL + "?before=1201"


def opts(**keys: object) -> telegram.Options:
    return options("telegram", CHANNEL, **keys)  # type: ignore[return-value]


def page1() -> dict:
    return {item.item_id: item for item in telegram.parse(page(CHANNEL, fixture("telegram_channel_page1.html")), opts())}


def test_messages_ids_urls_dates_oldest_first() -> None:
    items = telegram.parse(page(CHANNEL, fixture("telegram_channel_page1.html")), opts())
    assert [item.item_id for item in items] == [f"leakwatch_fr/{n}" for n in range(1201, 1207)]
    first = items[0]
    assert first.url == "https://t.me/leakwatch_fr/1201"
    assert first.date == datetime(2024, 11, 20, 8, 15, tzinfo=UTC)
    assert first.author == "Leak Watch FR"
    assert first.source == "src"


def test_text_keeps_br_line_breaks_and_title_is_the_first_line() -> None:
    item = page1()["leakwatch_fr/1201"]
    assert item.text == ("🚨 Nouvelle fuite : Mediboard\n758 912 patients, export complet.\n\n"
                         "Source : forum BreachForums (thread 4101).")
    assert item.title == "🚨 Nouvelle fuite : Mediboard"


def test_a_reply_does_not_take_the_quoted_message_as_its_text() -> None:
    item = page1()["leakwatch_fr/1204"]
    assert item.text == "Update: the seller also claims chu-rennes[.]fr VPN access."
    assert "Mediboard" not in (item.text or "") and "Mediboard" not in item.title


def test_forwarded_message_names_both_authors() -> None:
    item = page1()["leakwatch_fr/1202"]
    assert item.author == "Leak Watch FR (forwarded from DarkLeaks Archive)"
    assert item.text == "CHU de Rennesson staff list posted, 3k rows"


def test_media_only_message() -> None:
    item = page1()["leakwatch_fr/1203"]
    assert item.title == "(media)"
    assert item.text == ""


def test_markup_in_messages_is_plain_text() -> None:
    item = page1()["leakwatch_fr/1205"]
    assert item.text == "<script>alert(1)</script> & bold a link invoicefdp.exe"


def test_long_first_line_is_cut_for_the_title() -> None:
    item = page1()["leakwatch_fr/1206"]
    assert len(item.title) <= telegram.TITLE_LIMIT
    assert item.title.endswith("…")
    assert item.text is not None and item.text.endswith("1. LockBit: clinic A\n2. Qilin: lab B")


def test_empty_channel_is_no_items_but_other_pages_are_errors() -> None:
    assert telegram.parse(page(CHANNEL, fixture("telegram_channel_empty.html")), opts()) == []
    with pytest.raises(ParseError, match="no messages found"):
        telegram.parse(page(CHANNEL, b"<html><body><div class='tgme_page'>Channel not found</div></body></html>"),
                       opts())
    with pytest.raises(ParseError, match="login or challenge page"):
        telegram.parse(page(CHANNEL, fixture("hostile_cloudflare_challenge.html")), opts())


def test_messages_with_a_bad_data_post_are_ignored() -> None:
    body = fixture("telegram_channel_page1.html").replace(b'data-post="leakwatch_fr/1203"',
                                                        b'data-post="../../etc/passwd"')
    ids = [item.item_id for item in telegram.parse(page(CHANNEL, body), opts())]
    assert "leakwatch_fr/1203" not in ids and len(ids) == 5


# ---------------------------------------------------------------- paging


def fetcher() -> FakeFetcher:
    return FakeFetcher("https://t.me", {CHANNEL: fixture("telegram_channel_page1.html"),
                                        BEFORE_1201: fixture("telegram_channel_page2_before_1201.html")})


def test_first_poll_reads_one_page() -> None:
    fetch = fetcher()
    items = asyncio.run(telegram.collect(fetch, opts(pages=5), FakeState().state))
    assert len(items) == 6
    assert fetch.requests == [(CHANNEL, True)]


def test_pages_back_with_before_until_the_last_known_message() -> None:
    fetch = fetcher()
    state = FakeState(last_item_id="leakwatch_fr/1197")
    items = asyncio.run(telegram.collect(fetch, opts(pages=5), state.state))
    assert fetch.requests == [(CHANNEL, True), (BEFORE_1201, False)]   # stops: 1196 <= 1197 reached
    assert [item.item_id for item in items] == ["leakwatch_fr/1196", "leakwatch_fr/1197", "leakwatch_fr/1199",
                                                "leakwatch_fr/1200"] + [f"leakwatch_fr/{n}" for n in range(1201, 1207)]


def test_no_paging_when_the_first_page_reaches_the_last_known_message() -> None:
    fetch = fetcher()
    asyncio.run(telegram.collect(fetch, opts(pages=5), FakeState(last_item_id="leakwatch_fr/1203").state))
    assert fetch.urls == [CHANNEL]


def test_paging_is_bounded_by_pages() -> None:
    fetch = fetcher()
    fetch.pages[CHANNEL + "?before=1196"] = b"<never fetched>"
    asyncio.run(telegram.collect(fetch, opts(pages=2), FakeState(last_item_id="leakwatch_fr/10").state))
    assert fetch.urls == [CHANNEL, BEFORE_1201]


def test_paging_without_pages_setting_stays_on_one_page() -> None:
    fetch = fetcher()
    asyncio.run(telegram.collect(fetch, opts(), FakeState(last_item_id="leakwatch_fr/10").state))
    assert fetch.urls == [CHANNEL]


def test_last_item_of_another_channel_does_not_page() -> None:
    fetch = fetcher()
    asyncio.run(telegram.collect(fetch, opts(pages=5), FakeState(last_item_id="otherchan/1000").state))
    assert fetch.urls == [CHANNEL]


def test_paging_dedupes_messages_seen_twice() -> None:
    fetch = fetcher()
    # page 2 repeats message 1201 (a message posted while paging shifts the window)
    fetch.pages[BEFORE_1201] = fixture("telegram_channel_page2_before_1201.html").replace(
        b'data-post="leakwatch_fr/1200"', b'data-post="leakwatch_fr/1201"')
    items = asyncio.run(telegram.collect(fetch, opts(pages=2), FakeState(last_item_id="leakwatch_fr/1190").state))
    ids = [item.item_id for item in items]
    assert len(ids) == len(set(ids))
    assert next(i for i in items if i.item_id == "leakwatch_fr/1201").title == "🚨 Nouvelle fuite : Mediboard"


def test_unchanged_and_failing_first_page_propagate() -> None:
    fetch = FakeFetcher("https://t.me", {CHANNEL: b""}, unchanged=[CHANNEL])
    with pytest.raises(NotModified):
        asyncio.run(telegram.collect(fetch, opts(), FakeState().state))
    fetch = FakeFetcher("https://t.me", {CHANNEL: FetchError("HTTP 429", status=429)})
    with pytest.raises(FetchError):
        asyncio.run(telegram.collect(fetch, opts(), FakeState().state))


# ---------------------------------------------------------------- make_options


@pytest.mark.parametrize("url", ["https://t.me/leakwatch_fr", "https://t.me/s/", "http://t.me/s/leakwatch_fr",
                                 "https://evil.example/s/leakwatch_fr", "https://t.me/s/leak/watch",
                                 "https://t.me/s/ab", "https://t.me/s/leakwatch_fr?before=3"])
def test_make_options_wants_a_channel_preview_url(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        options("telegram", url)
    assert info.value.key == "url"


def test_make_options_accepts_previews_and_loopback_doubles() -> None:
    assert opts().channel == "leakwatch_fr"
    assert options("telegram", "https://t.me/s/leakwatch_fr/").channel == "leakwatch_fr"  # type: ignore[attr-defined]
    loop = options("telegram", "http://127.0.0.1:8080/s/leakwatch_fr")
    assert loop.channel == "leakwatch_fr"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("keys", "key"), [({"preset": "mybb"}, "preset"), ({"selectors": {"item": "x"}}, "selectors"),
                                           ({"items": "x"}, "items"), ({"fields": {"title": "t"}}, "fields"),
                                           ({"follow": True}, "follow")])
def test_make_options_rejects_keys_of_other_kinds(keys: dict, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        options("telegram", CHANNEL, **keys)
    assert info.value.key == key
