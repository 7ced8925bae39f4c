"""Listing pages parsed in a worker process (sources/parsepool.py) give exactly what the parse
gives in this process: items, errors and log lines; a worker that dies fails only its page; a parse
past the deadline is stopped, and the pages queued behind it are not lost; a page that stalled or
killed the worker is refused at once when it comes back, until it changes."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator

import pytest

from monitor.errors import ParseError
from monitor.fetch import Page
from sources import html, parsepool, rss, telegram
from sources import json as json_source
from sources.stalls import StalledPages
from tests.support import parsers
from tests.support.bombs import mybb_listing, nesting_bomb
from tests.support.sources import fixture, options
from tests.test_sources_off_loop import big_mybb_listing

FORUM = "http://forumleaks.example.onion/Forum-Databases"
CHANNEL = "https://t.me/s/leakchan"
FEED = "https://news.example.org/feed.xml"
API = "https://api.example.org/v2/recentvictims"

# (fixture, parse function, options): every listing fixture, and pages that are not listings.
LISTINGS = [
    *[(name, html.parse_listing, options("html", FORUM, preset=preset)) for name, preset in [
        ("mybb_forumdisplay_page1.html", "mybb"), ("mybb_forumdisplay_page2.html", "mybb"),
        ("mybb_forumdisplay_truncated.html", "mybb"), ("mybb_index.html", "mybb"),
        ("xenforo_forum_listing.html", "xenforo"), ("xenforo_listing_truncated.html", "xenforo"),
        ("xenforo_index.html", "xenforo"), ("phpbb_viewforum.html", "phpbb"),
        ("pastebin_archive.html", "pastebin-archive"), ("hostile_cloudflare_challenge.html", "mybb"),
        ("hostile_ddos_guard.html", "mybb"), ("hostile_login_page.html", "mybb"), ("hostile_empty.html", "mybb"),
        ("hostile_latin1_nocharset.html", "mybb"), ("hostile_nul_bytes.html", "mybb"),
        ("hostile_random.bin", "mybb")]],
    *[(name, telegram.parse_preview, options("telegram", CHANNEL)) for name in [
        "telegram_channel_page1.html", "telegram_channel_page2_before_1201.html", "telegram_channel_empty.html",
        "hostile_login_page.html"]],
    *[(name, rss.parse, options("rss", FEED)) for name in [
        "atom_feed.xml", "rss2_feed.xml", "hostile_login_page.html", "hostile_random.bin"]],
    *[(name, json_source.parse, options("json", API, preset=preset)) for name, preset in [
        ("ransomwarelive_v2_recentvictims.json", "ransomware.live"), ("ransomlook_recent.json", "ransomlook"),
        ("hibp_breaches.json", "hibp"), ("hostile_random.bin", "ransomware.live")]],
]
URL = {html.parse_listing: FORUM, telegram.parse_preview: CHANNEL, rss.parse: FEED, json_source.parse: API}


@pytest.fixture
def every_page_to_the_pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(parsepool, "POOL_BYTES", 0)
    monkeypatch.setenv(parsepool.WORKERS_ENV, "1")
    monkeypatch.setattr(parsepool, "_stalled", StalledPages())    # what a test's pages did stays in the test
    yield
    parsepool.shutdown()


def outcome(parse, page: Page, opts: object) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    try:
        return "ok", parse(page, opts)
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__, str(exc)


async def outcome_in_worker(parse, page: Page, opts: object) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    try:
        return "ok", await parsepool.in_worker(page, parse, opts)
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__, str(exc)


def test_every_fixture_parses_to_the_same_items_or_error_in_a_worker(every_page_to_the_pool: None) -> None:
    pages = [(Page(URL[parse], 200, fixture(name), {"content-type": "text/html"}), parse, opts)
             for name, parse, opts in LISTINGS]

    async def main() -> list[tuple[str, object]]:
        return await asyncio.gather(*(outcome_in_worker(parse, page, opts) for page, parse, opts in pages))

    in_worker = asyncio.run(main())
    here = [outcome(parse, page, opts) for page, parse, opts in pages]
    assert in_worker == here
    assert sum(kind == "ok" for kind, _ in here) >= 8 and any(kind == "ParseError" for kind, _ in here)


def test_what_the_parser_logs_in_the_worker_is_logged_here(every_page_to_the_pool: None,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    body = big_mybb_listing(3).replace(b'<tr class="inline_row"><td>', b'<tr class="inline_row"><td></td></tr>'
                                       b'<tr class="inline_row"><td>', 1)
    page = Page(FORUM, 200, body, {"content-type": "text/html"})
    caplog.set_level(logging.DEBUG, logger="sources.html")
    listing = asyncio.run(parsepool.in_worker(page, html.parse_listing, options("html", FORUM, preset="mybb")))
    assert len(listing.items) == 3 and listing.skipped == 1
    lines = [(r.name, r.levelno, r.getMessage()) for r in caplog.records if r.name == "sources.html"]
    assert lines == [("sources.html", logging.DEBUG, "src: 1 row(s) without a title and link skipped")]


def test_a_worker_that_dies_fails_its_page_and_the_next_page_gets_a_new_worker(every_page_to_the_pool: None) -> None:
    page, crash = Page(FORUM, 200, b"x" * 100, {}), Page(FORUM, 200, b"y" * 100, {})

    async def main() -> tuple[int, str, int, int]:
        first = await parsepool.in_worker(page, parsers.pid)
        with pytest.raises(ParseError) as info:
            await parsepool.in_worker(crash, parsers.die, 3)
        return first, info.value.reason, await parsepool.in_worker(page, parsers.pid), os.getpid()

    first, reason, after, here = asyncio.run(main())
    assert reason == "the parser process died on this page"
    assert len({first, after, here}) == 3          # two workers, neither of them this process


def test_small_pages_and_zero_workers_stay_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    small = Page(FORUM, 200, b"x" * (parsepool.POOL_BYTES - 1), {})
    big = Page(FORUM, 200, b"x" * parsepool.POOL_BYTES, {})
    monkeypatch.setenv(parsepool.WORKERS_ENV, "0")
    assert asyncio.run(parsepool.in_worker(big, parsers.pid)) == os.getpid()
    monkeypatch.setenv(parsepool.WORKERS_ENV, "1")
    try:
        assert asyncio.run(parsepool.in_worker(small, parsers.pid)) == os.getpid()
        assert asyncio.run(parsepool.in_worker(big, parsers.pid)) != os.getpid()
    finally:
        parsepool.shutdown()


def test_a_parse_past_the_deadline_is_stopped_and_the_pages_queued_behind_it_are_parsed(
        every_page_to_the_pool: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parsepool.TIMEOUT_ENV, "1")
    opts = options("html", FORUM, preset="mybb")
    bomb = Page(FORUM, 200, nesting_bomb(), {"content-type": "text/html"})
    good = Page(FORUM, 200, mybb_listing(40, "Mediboard"), {"content-type": "text/html"})

    async def main() -> list[tuple[str, object]]:
        # one worker: the good pages wait behind the bomb
        return await asyncio.gather(*(outcome_in_worker(html.parse_listing, page, opts)
                                      for page in (bomb, good, good, bomb, good)))

    results = asyncio.run(main())
    stopped = ("ParseError", "parsing this page took over 1s: stopped (hostile or broken markup?)")
    assert [kind for kind, _ in results] == ["ParseError", "ok", "ok", "ParseError", "ok"]
    assert results[0] == results[3] == stopped
    assert all(len(listing.items) == 40 for kind, listing in results if kind == "ok")  # type: ignore[attr-defined]


def test_a_parse_whose_poll_gave_up_does_not_hold_the_worker(every_page_to_the_pool: None) -> None:
    """The poll's own deadline cancels the wait: the worker stuck on the page is stopped with it."""
    bomb = Page(FORUM, 200, nesting_bomb(), {"content-type": "text/html"})
    small = Page(FORUM, 200, b"x" * 100, {})

    async def main() -> tuple[int, int]:
        before = await parsepool.in_worker(small, parsers.pid)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(parsepool.in_worker(bomb, html.parse_listing, options("html", FORUM, preset="mybb")),
                                   0.5)
        return before, await parsepool.in_worker(small, parsers.pid)

    before, after = asyncio.run(main())
    assert before != after          # a fresh worker, not the one still parsing the bomb
    assert len(parsepool._stalled) == 0     # the poll's deadline counts its fetches: not the page's fault


def test_a_page_stopped_at_the_deadline_is_refused_at_once_until_it_changes(
        every_page_to_the_pool: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parsepool.TIMEOUT_ENV, "1")
    opts = options("html", FORUM, preset="mybb")
    bomb = nesting_bomb()
    changed = bomb.replace(b"<title>Forum</title>", b"<title>Forvm</title>")   # one byte: the same length
    assert len(changed) == len(bomb) and changed != bomb

    async def main() -> tuple[list[str], list[int], int]:
        reasons, pids = [], []
        for url in (FORUM, "http://mirror.example.onion/"):   # the source polled again, another source
            pids.append(await parsepool.in_worker(Page(url, 200, b"x" * 100, {}), parsers.pid))
            with pytest.raises(ParseError) as info:
                await parsepool.in_worker(Page(url, 200, bomb, {"content-type": "text/html"}), html.parse_listing, opts)
            reasons.append(info.value.reason)
        pids.append(await parsepool.in_worker(Page(FORUM, 200, b"x" * 100, {}), parsers.pid))
        return reasons, pids, await parsepool.in_worker(Page(FORUM, 200, changed, {}), parsers.size)

    reasons, pids, size = asyncio.run(main())
    assert reasons == ["parsing this page took over 1s: stopped (hostile or broken markup?)",
                       "this page stalled the parser before (over 1s): not parsed again until it changes"]
    assert pids[0] != pids[1] == pids[2]     # killed at the first stall; the second never reached the worker
    assert size == len(changed)              # the changed page went to the worker again


def test_a_page_that_killed_its_worker_is_refused_at_once_until_it_changes(every_page_to_the_pool: None) -> None:
    crash, other = Page(FORUM, 200, b"y" * 100, {}), Page(FORUM, 200, b"z" * 100, {})

    async def main() -> tuple[list[str], int]:
        reasons = []
        # parsers.pid cannot fail: a ParseError for it says the page never reached a worker
        for parse, args in ((parsers.die, (3,)), (parsers.pid, ())):
            with pytest.raises(ParseError) as info:
                await parsepool.in_worker(crash, parse, *args)
            reasons.append(info.value.reason)
        return reasons, await parsepool.in_worker(other, parsers.pid)

    reasons, worker = asyncio.run(main())
    assert reasons == ["the parser process died on this page",
                       "this page killed the parser process before: not parsed again until it changes"]
    assert worker != os.getpid()              # another page goes to the (fresh) worker


def test_the_memory_of_stalled_pages_keeps_the_latest() -> None:
    stalled = StalledPages(size=2)
    stalled.remember(b"a" * 10, "first")
    stalled.remember(b"b" * 10, "second")
    assert stalled.refusal(b"a" * 10) == "first"          # served again: now the latest
    stalled.remember(b"c" * 10, "third")                   # the oldest, b, is forgotten
    assert [stalled.refusal(body) for body in (b"a" * 10, b"b" * 10, b"c" * 10, b"c" * 11)] == [
        "first", None, "third", None]
    assert len(stalled) == 2


@pytest.mark.parametrize(("value", "seconds", "warned"), [
    ("", parsepool.DEFAULT_TIMEOUT, False), ("2.5", 2.5, False), ("90", 90.0, False),
    ("0", parsepool.DEFAULT_TIMEOUT, True), ("-3", parsepool.DEFAULT_TIMEOUT, True),
    ("soon", parsepool.DEFAULT_TIMEOUT, True), ("inf", parsepool.DEFAULT_TIMEOUT, True),
    ("nan", parsepool.DEFAULT_TIMEOUT, True)])
def test_the_deadline_comes_from_the_environment(value: str, seconds: float, warned: bool,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(parsepool.TIMEOUT_ENV, value)
    monkeypatch.setattr(parsepool, "_bad_timeouts", set())
    assert parsepool.deadline() == seconds == parsepool.deadline()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ([f"LEAKMON_PARSE_TIMEOUT={value!r} is not a number of seconds above 0: the default, "
                         f"{parsepool.DEFAULT_TIMEOUT:g}s, is used"] if warned else [])   # once, not at every page
