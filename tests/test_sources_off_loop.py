"""A big listing is parsed off the event loop: the other coroutines (polls, delivery, bot commands) keep running."""

from __future__ import annotations

import asyncio

from sources import html, telegram
from tests.support.sources import FakeFetcher, FakeState, options

FORUM = "http://forumleaks.example.onion/Forum-Databases"
CHANNEL = "https://t.me/s/leakchan"


def big_mybb_listing(rows: int) -> bytes:
    parts = [
        f'<tr class="inline_row"><td><span class="subject_old" id="tid_{n}"><a href="Thread-{n}">Database dump '
        f'number {n} of a clinic, patients records</a></span><div><span class="author"><a href="User-{n}">user{n}'
        f'</a></span><span class="thread_start_datetime"><span title="11-19-2024, 10:41 PM">1 hour ago</span>'
        f'</span></div></td><td>{n % 97}</td><td>{n % 9973}</td></tr>' for n in range(rows, 0, -1)]
    return ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>Board</title></head><body><table>'
            + "".join(parts) + "</table></body></html>").encode()


def big_channel_page(messages: int) -> bytes:
    parts = [
        f'<div class="tgme_widget_message js-widget_message" data-post="leakchan/{n}"><div class="tgme_widget_message_text'
        f' js-message_text">leak {n} {"x " * 200}</div><a class="tgme_widget_message_date" href="#"><time '
        f'datetime="2024-11-20T07:15:00+00:00">07:15</time></a></div>' for n in range(1, messages + 1)]
    return ('<!DOCTYPE html><html><body><section class="tgme_channel_history">' + "".join(parts)
            + "</section></body></html>").encode()


async def ticks_while(job: asyncio.Future[object] | object) -> tuple[int, object]:
    """How many times a ticker coroutine on the same loop ran while ``job`` (a coroutine) ran, and its result."""
    ticks = 0
    finished = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not finished.is_set():
            ticks += 1
            await asyncio.sleep(0.001)   # a timer tick, as a real coroutine waits

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)            # the ticker has started
    before = ticks
    result = await job                # type: ignore[misc]
    during = ticks - before
    finished.set()
    await task
    return during, result


def test_a_10_mb_listing_does_not_stall_the_event_loop() -> None:
    body = big_mybb_listing(28_500)
    assert len(body) > 10_000_000
    fetch = FakeFetcher(FORUM, {FORUM: body})          # answers at once: without a thread, no tick could run
    opts = options("html", FORUM, preset="mybb")
    during, items = asyncio.run(ticks_while(html.collect(fetch, opts, FakeState().state)))
    assert len(items) == 28_500                        # type: ignore[arg-type]
    assert items[0].title == "Database dump number 28500 of a clinic, patients records"  # type: ignore[index]
    assert during >= 10, "the event loop was blocked while the listing was parsed"


def test_a_big_channel_page_does_not_stall_the_event_loop() -> None:
    body = big_channel_page(3_000)
    assert len(body) > 1_000_000
    fetch = FakeFetcher("https://t.me", {CHANNEL: body})
    opts = options("telegram", CHANNEL)
    during, items = asyncio.run(ticks_while(telegram.collect(fetch, opts, FakeState().state)))
    assert len(items) == 3_000                         # type: ignore[arg-type]
    assert during >= 10


def test_a_small_listing_is_parsed_in_place() -> None:
    body = big_mybb_listing(20)
    assert len(body) < 20_000
    fetch = FakeFetcher(FORUM, {FORUM: body})
    during, items = asyncio.run(ticks_while(html.collect(fetch, options("html", FORUM, preset="mybb"),
                                                         FakeState().state)))
    assert len(items) == 20 and during == 0           # type: ignore[arg-type]
