"""monitor.store on real SQLite files: dedupe, re-matching, routing, health, outbox, FTS, prune,
crash safety (a writer killed with SIGKILL) and the asyncio wrapper."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import StoreError
from monitor.records import Hit, Item, PollRecord, SaveResult
from monitor.store import AsyncStore, Store
from tests.support.clocks import T0, Clock
from tests.support.records import WATCHES, failed_poll, hit, item, ok_poll

ROOT = Path(__file__).resolve().parent.parent

@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock):
    s = Store(tmp_path / "leakmon.db", clock=clock)
    yield s
    s.close()


def save(store: Store, items: list[Item], hits: dict[str, list[Hit]] | None = None,
         poll: PollRecord | None = None, threshold: int = 3, health_chats: tuple[str, ...] = ("ops",)) -> SaveResult:
    return store.save_poll(poll or ok_poll(n=len(items)), items, hits or {}, WATCHES,
                           failure_threshold=threshold, health_chats=health_chats)


def alerts(store: Store, now: datetime) -> list[tuple[str, str, tuple[str, ...]]]:
    """(chat, item_id, watches) of every due alert row."""
    return sorted((r.chat, r.hits[0].item.item_id, tuple(h.watch for h in r.hits))
                  for r in store.due_outbox(now) if r.kind == "alert")


# ---------------------------------------------------------------- items and dedupe

def test_an_item_is_stored_once_and_a_repeated_listing_sends_nothing(store: Store, clock: Clock) -> None:
    listing = [item(1, "Mediboard dump", "758912 patients"), item(2, "combolist")]
    assert store.to_match("forum", listing) == listing
    first = save(store, listing, {"1": [hit("Mediboard", fld="title")]})
    assert (first.new_items, first.changed_items, first.new_hits, first.alerts) == (2, 0, 1, 2)

    clock.advance(minutes=10)
    assert store.to_match("forum", listing) == []
    again = save(store, listing, {"1": [hit("Mediboard", fld="title")]})
    assert (again.new_items, again.changed_items, again.new_hits, again.alerts) == (0, 0, 0, 0)
    assert store.known_ids("forum", ["1", "2", "3"]) == {"1", "2"}
    assert store.known_ids("other-source", ["1"]) == set()
    assert len(store.hits()) == 1
    assert len(store.due_outbox(clock.now)) == 2
    assert store.source_status("forum").items_seen == 2  # type: ignore[union-attr]


def test_same_item_id_in_two_sources_is_two_items(store: Store) -> None:
    save(store, [item(7, "a")])
    assert store.to_match("pastes", [item(7, "a", source="pastes")]) == [item(7, "a", source="pastes")]
    save(store, [item(7, "a", source="pastes")], poll=ok_poll("pastes", 1))
    assert store.source_status("forum").items_seen == 1  # type: ignore[union-attr]
    assert store.source_status("pastes").items_seen == 1  # type: ignore[union-attr]


def test_items_of_another_source_are_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="belongs to source"):
        save(store, [item(1, source="pastes")])
    assert store.known_ids("pastes", ["1"]) == set() and store.known_ids("forum", ["1"]) == set()


def test_changed_text_is_rematched_and_only_new_watch_entries_alert(store: Store, clock: Clock) -> None:
    save(store, [item(1, "Selling DB", "Mediboard export")], {"1": [hit("Mediboard")]})
    for row in store.due_outbox(clock.now):
        store.mark_sent([row.id], 1, clock.now)

    clock.advance(hours=1)
    edited = item(1, "Selling DB", "Mediboard export, CHU de Rennes included")
    assert store.to_match("forum", [edited]) == [edited]
    result = save(store, [edited], {"1": [hit("Mediboard"), hit("CHU de Rennes", start=18)]})
    assert (result.new_items, result.changed_items, result.new_hits, result.alerts) == (0, 1, 1, 1)
    assert alerts(store, clock.now) == [("soc", "1", ("CHU de Rennes",))]
    assert [h.watch for h in store.hits()] == ["CHU de Rennes", "Mediboard"]
    # the stored text follows the edit, and so does the search index
    assert [i.text for i, _ in store.search("included")] == [edited.text]


def test_text_none_compares_title_only_and_is_filled_from_the_store(store: Store) -> None:
    save(store, [item(1, "CHU dump", "full body of the post")])
    listing_only = item(1, "CHU dump", None)            # a known thread whose page is not fetched again
    assert store.to_match("forum", [listing_only]) == []
    retitled = item(1, "CHU de Rennes dump", None)
    [back] = store.to_match("forum", [retitled])
    assert back.title == "CHU de Rennes dump" and back.text == "full body of the post"

    result = save(store, [retitled])
    assert result.changed_items == 1
    assert [i.text for i, _ in store.search("body")] == ["full body of the post"]   # text None keeps the text
    assert [i.title for i, _ in store.search("Rennes")] == ["CHU de Rennes dump"]


def test_changed_item_keeps_its_first_seen(store: Store, clock: Clock) -> None:
    save(store, [item(1, "a", "one")])
    clock.advance(days=3)
    save(store, [item(1, "a", "two")], {"1": [hit("Softway")]})
    [view] = store.hits()
    assert store.search("two")[0][1] == T0                # the item's first_seen did not move
    assert view.first_seen == T0 + timedelta(days=3)      # the hit is as new as its discovery


# ---------------------------------------------------------------- routing

def test_one_outbox_row_per_item_and_chat_naming_all_its_new_hits(store: Store, clock: Clock) -> None:
    both = [hit("Mediboard", fld="title"), hit("CHU de Rennes")]
    result = save(store, [item(1, "Mediboard", "CHU de Rennes"), item(2, "Mediboard", "CHU de Rennes"),
                          item(3, "nothing")], {"1": both, "2": both})
    assert (result.new_hits, result.alerts) == (4, 4)
    assert alerts(store, clock.now) == [
        ("ops", "1", ("Mediboard",)), ("ops", "2", ("Mediboard",)),
        ("soc", "1", ("Mediboard", "CHU de Rennes")), ("soc", "2", ("Mediboard", "CHU de Rennes")),
    ]
    row = next(r for r in store.due_outbox(clock.now) if r.chat == "soc")
    first = row.hits[0]
    assert (first.kind, first.severity, first.terms, first.field, first.retro) == (
        "software", "high", ("Mediboard",), "title", False)
    assert first.item.url == "http://forum.example/t/1" and first.item.author == "seller"
    assert first.item.date == T0 - timedelta(hours=1)


def test_a_hit_for_an_unconfigured_watch_is_stored_but_not_alerted(store: Store, clock: Clock) -> None:
    result = save(store, [item(1, "x", "y")], {"1": [hit("Removed entry")]})
    assert (result.new_hits, result.alerts) == (1, 0)
    assert store.due_outbox(clock.now) == []
    assert [h.watch for h in store.hits()] == ["Removed entry"]


# ---------------------------------------------------------------- health

def test_health_failing_and_recovered_are_queued_exactly_once(store: Store, clock: Clock) -> None:
    save(store, [item(1)], poll=ok_poll(n=1, started=T0))
    events = []
    for k in range(1, 6):
        started = T0 + timedelta(minutes=10 * k)
        events.append(save(store, [], poll=failed_poll(f"HTTP 50{k}", started=started),
                           health_chats=("ops", "soc")).health_event)
        status = store.source_status("forum")
        assert status is not None
        assert status.consecutive_failures == k and status.last_ok == T0 and status.last_error == f"HTTP 50{k}"
    assert events == [None, None, "failing", None, None]
    rows = [r for r in store.due_outbox(clock.now) if r.kind == "health"]
    assert sorted(r.chat for r in rows) == ["ops", "soc"]
    assert dict(rows[0].payload) == {"source": "forum", "event": "failing", "reason": "HTTP 503",
                                     "failures": 3, "since": "2024-11-20T10:10:00.000000Z"}
    assert store.source_status("forum").health_alerted  # type: ignore[union-attr]

    for row in rows:
        store.mark_sent([row.id], None, clock.now)
    back = T0 + timedelta(hours=2)
    assert save(store, [item(1)], poll=ok_poll(n=1, started=back), health_chats=("ops", "soc")).health_event \
        == "recovered"
    assert save(store, [item(1)], poll=ok_poll(n=1, started=back), health_chats=("ops", "soc")).health_event is None
    rows = store.due_outbox(clock.now)
    assert sorted(r.chat for r in rows) == ["ops", "soc"]
    assert dict(rows[0].payload) == {"source": "forum", "event": "recovered", "failures": 5,
                                     "since": "2024-11-20T10:10:00.000000Z"}
    status = store.source_status("forum")
    assert status is not None
    assert (status.consecutive_failures, status.last_ok, status.health_alerted) == (0, back, False)


def test_failures_below_the_threshold_then_success_send_nothing(store: Store, clock: Clock) -> None:
    save(store, [], poll=failed_poll())
    save(store, [], poll=failed_poll())
    assert save(store, [item(1)], poll=ok_poll(n=1)).health_event is None
    assert save(store, [], poll=failed_poll()).health_event is None      # the count started again
    assert store.due_outbox(clock.now) == []


def test_poll_log_and_source_state(store: Store) -> None:
    assert store.source_status("forum") is None
    save(store, [item(1), item(2)], poll=ok_poll(n=2, started=T0))
    save(store, [], poll=failed_poll("timed out after 30s", started=T0 + timedelta(minutes=10)))
    polls = store.polls("forum")
    assert [(p.ok, p.error, p.items) for p in polls] == [(False, "timed out after 30s", 0), (True, None, 2)]
    assert polls[0].started == T0 + timedelta(minutes=10)
    status = store.source_status("forum")
    assert status is not None
    assert status.had_items and status.last_item_id == "2" and status.last_poll == T0 + timedelta(minutes=10)
    names = [s.name for s in store.all_status(["new-source", "forum"])]
    assert names == ["new-source", "forum"]
    assert store.all_status(["new-source"])[0].last_poll is None
    assert [s.name for s in store.all_status()] == ["forum"]


def test_last_item_id_keeps_the_largest_telegram_message(store: Store) -> None:
    def tg(n: int) -> Item:
        return Item(source="tg", item_id=f"leaks_chan/{n}", url=f"https://t.me/leaks_chan/{n}", title="", text=f"m{n}")

    save(store, [tg(98), tg(120), tg(99)], poll=ok_poll("tg", 3))
    assert store.source_status("tg").last_item_id == "leaks_chan/120"  # type: ignore[union-attr]
    save(store, [tg(100)], poll=ok_poll("tg", 1))                      # an older page read later
    assert store.source_status("tg").last_item_id == "leaks_chan/120"  # type: ignore[union-attr]
    save(store, [tg(1000)], poll=ok_poll("tg", 1))                     # numeric, not text order
    assert store.source_status("tg").last_item_id == "leaks_chan/1000"  # type: ignore[union-attr]
    save(store, [], poll=ok_poll("tg", 0))                             # 304 Not Modified: kept
    assert store.source_status("tg").last_item_id == "leaks_chan/1000"  # type: ignore[union-attr]


# ---------------------------------------------------------------- outbox

def test_outbox_lifecycle(store: Store, clock: Clock) -> None:
    save(store, [item(1, "Mediboard"), item(2, "Softway Medical")],
         {"1": [hit("Mediboard", fld="title")], "2": [hit("Softway", fld="title")]})
    created = clock.now
    now = clock.advance(minutes=5)
    due = store.due_outbox(now)
    assert [(r.chat, r.attempts, r.hits[0].item.item_id) for r in due] == [
        ("soc", 0, "1"), ("ops", 0, "1"), ("soc", 0, "2")]
    assert all(r.created == created for r in due)
    assert store.due_outbox(created - timedelta(seconds=1)) == []      # not due before it exists
    stats = store.outbox_stats(now)
    assert (stats.pending, stats.oldest_pending_age_s, stats.parked) == (3, 300.0, 0)

    retry, park, send = due
    store.mark_retry([retry.id], "HTTP 502", next_attempt=now + timedelta(minutes=1))
    assert [r.id for r in store.due_outbox(now)] == [park.id, send.id]
    store.mark_parked([park.id], "Bad Request: chat not found")
    store.mark_sent([send.id], 4242, now)
    assert store.due_outbox(now) == []
    later = store.due_outbox(now + timedelta(minutes=1))
    assert [(r.id, r.attempts) for r in later] == [(retry.id, 1)]
    stats = store.outbox_stats(now)
    assert (stats.pending, stats.parked) == (1, 1)
    store.mark_sent([retry.id], 4243, now + timedelta(minutes=1))
    stats = store.outbox_stats(now + timedelta(minutes=1))
    assert (stats.pending, stats.oldest_pending_age_s, stats.parked) == (0, None, 1)
    store.mark_retry([retry.id], "late", now)               # a sent row is never revived
    assert store.due_outbox(now + timedelta(days=1)) == []


def test_oldest_pending_age_follows_the_oldest_row(store: Store, clock: Clock) -> None:
    store.enqueue_text(["ops"], {"text": "first"})
    clock.advance(minutes=1)
    store.enqueue_text(["ops"], {"text": "second"})
    now = clock.advance(minutes=1)
    assert store.outbox_stats(now).oldest_pending_age_s == 120.0
    first = store.due_outbox(now)[0]
    assert first.payload == {"text": "first"} and first.kind == "text" and first.hits == ()
    store.mark_sent([first.id], 1, now)
    assert store.outbox_stats(now).oldest_pending_age_s == 60.0


def test_due_outbox_is_oldest_first_and_limited(store: Store, clock: Clock) -> None:
    for n in range(5):
        store.enqueue_text(["soc"], {"n": n}, kind="health")
        clock.advance(seconds=1)
    assert [r.payload["n"] for r in store.due_outbox(clock.now, limit=3)] == [0, 1, 2]


def test_sent_times_count_messages_per_chat(store: Store, clock: Clock) -> None:
    store.enqueue_text(["soc", "ops"], {"t": 1})
    store.enqueue_text(["soc", "soc"], {"t": 2})   # a repeated chat is one message
    store.enqueue_text(["soc"], {"t": 3})
    rows = store.due_outbox(clock.now)
    soc = [r.id for r in rows if r.chat == "soc"]
    ops = [r.id for r in rows if r.chat == "ops"]
    assert len(soc) == 3 and len(ops) == 1
    t1, t2 = T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)
    store.mark_sent(soc[:2], 10, t1)                # one digest message carrying two rows
    store.mark_sent(ops, 11, t1)
    store.mark_sent(soc[2:], 12, t2)
    assert store.sent_times("soc", T0) == [t1, t2]
    assert store.sent_times("ops", T0) == [t1]
    assert store.sent_times(None, T0) == [t1, t1, t2]
    assert store.sent_times(None, t2) == [t2]
    assert store.sent_times("nobody", T0) == []


def test_meta(store: Store, tmp_path: Path, clock: Clock) -> None:
    assert store.get_meta("config_digest") is None
    store.set_meta("config_digest", "abc")
    store.set_meta("config_digest", "def")
    assert store.get_meta("config_digest") == "def"
    store.close()
    reopened = Store(tmp_path / "leakmon.db", clock=clock)
    assert reopened.get_meta("config_digest") == "def"
    reopened.set_meta("config_digest", None)
    assert reopened.get_meta("config_digest") is None
    reopened.close()


# ---------------------------------------------------------------- queries

def test_hits_newest_first_with_filters(store: Store, clock: Clock) -> None:
    save(store, [item(1, "Mediboard")], {"1": [hit("Mediboard", fld="title")]})
    clock.advance(days=2)
    save(store, [item(2, "CHU de Rennes")], {"2": [hit("CHU de Rennes", fld="title")]})
    clock.advance(days=2)
    save(store, [item(3, "Mediboard again")], {"3": [hit("Mediboard", fld="title")]})
    assert [h.item.item_id for h in store.hits()] == ["3", "2", "1"]
    assert [h.item.item_id for h in store.hits(watch="Mediboard")] == ["3", "1"]
    assert [h.item.item_id for h in store.hits(since=T0 + timedelta(days=1))] == ["3", "2"]
    assert [h.item.item_id for h in store.hits(limit=1)] == ["3"]
    assert store.hits()[0].first_seen == T0 + timedelta(days=4)


def test_search_ranks_and_orders_by_recency(store: Store, clock: Clock) -> None:
    save(store, [item(1, "Hôpital Saint-Joseph database", "hopital hopital hopital patients")])
    clock.advance(days=1)
    save(store, [item(2, "random dump", "one hopital mentioned")])
    clock.advance(days=1)
    save(store, [item(3, "nothing here", "combolist")])
    assert [i.item_id for i, _ in store.search("hopital")] == ["1", "2"]             # bm25: most relevant first
    assert [i.item_id for i, _ in store.search("hopital", order="recent")] == ["2", "1"]
    assert [i.item_id for i, _ in store.search("HÔPITAL")] == ["1", "2"]             # accents and case fold
    assert [i.item_id for i, _ in store.search("saint-joseph")] == ["1"]
    assert [i.item_id for i, _ in store.search("hopital NOT random")] == ["1"]       # FTS syntax works
    assert [i.item_id for i, _ in store.search("hopital", limit=1)] == ["1"]
    found, first_seen = store.search("combolist")[0]
    assert found.title == "nothing here" and first_seen == T0 + timedelta(days=2)


@pytest.mark.parametrize("query", ['"unbalanced', "AND", "-", "*", "NEAR(", "(", ")", "OR OR", "nosuchcolumn:x",
                                   "^", "", "   ", "\x00", 'a"b"c"', "title:", "NOT", "{title text}: x",
                                   "x AND", "'; DROP TABLE items; --"])
def test_hostile_search_queries_never_raise(store: Store, query: str) -> None:
    save(store, [item(1, "Mediboard dump", "AND - NEAR x")])
    assert isinstance(store.search(query), list)
    assert store.integrity_check() == "ok"


def test_a_rejected_query_is_retried_as_quoted_words(store: Store) -> None:
    save(store, [item(1, "Mediboard dump", "OX Softway and records")])
    assert [i.item_id for i, _ in store.search('"mediboard')] == ["1"]
    assert [i.item_id for i, _ in store.search("softway AND")] == ["1"]
    assert [i.item_id for i, _ in store.search("-records")] == ["1"]
    assert [i.item_id for i, _ in store.search('"softway and')] == ["1"]   # closed at the end: a phrase
    assert store.search('"softway records') == []


@pytest.fixture(scope="module")
def search_store(tmp_path_factory: pytest.TempPathFactory):
    s = Store(tmp_path_factory.mktemp("fts") / "fts.db")
    s.save_poll(ok_poll(n=1), [item(1, 'Mediboard "quoted" dump', "NEAR(a b) AND OR NOT * ^ : -")], {}, WATCHES,
                failure_threshold=3, health_chats=())
    yield s
    s.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(alphabet=st.sampled_from(list('ab "*^:()-+{}.,\'\\NEAROTD\x00é')), max_size=25)
           | st.text(max_size=25))
def test_any_text_is_a_safe_search_query(search_store: Store, query: str) -> None:
    result = search_store.search(query)
    assert isinstance(result, list)


# ---------------------------------------------------------------- retro-hunt

def test_iter_posts_in_batches_since_a_date(store: Store, clock: Clock) -> None:
    save(store, [item(n, text=f"old {n}") for n in range(3)])
    clock.advance(days=10)
    save(store, [item(n, text=f"new {n}") for n in range(3, 10)])
    since = T0 + timedelta(days=5)
    assert store.count_posts(since) == 7
    batches = list(store.iter_posts(since, batch=3))
    assert [len(b) for b in batches] == [3, 3, 1]
    assert [i.item_id for b in batches for i in b] == [str(n) for n in range(3, 10)]
    assert batches[0][0].text == "new 3"
    assert store.count_posts(T0) == 10
    # the rows a retro-hunt reads: the same posts, in the same batches
    rows = list(store.iter_post_rows(since, batch=3))
    assert [[(src, iid, title or "", text) for _pk, src, iid, title, text in b] for b in rows] == \
        [[(i.source, i.item_id, i.title, i.text) for i in b] for b in batches]


def test_a_recent_window_is_read_without_stepping_through_older_posts(store: Store, clock: Clock) -> None:
    save(store, [item(n, text=f"old {n}") for n in range(600)])
    clock.advance(days=10)
    save(store, [item(n, text=f"new {n}") for n in range(600, 610)])
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    def read(since: datetime) -> tuple[int, int]:
        steps[0] = 0
        store._conn.set_progress_handler(count, 50)          # SQLite's virtual machine steps
        try:
            return sum(map(len, store.iter_post_rows(since))), steps[0]
        finally:
            store._conn.set_progress_handler(None, 0)

    everything, all_steps = read(T0)
    recent, recent_steps = read(T0 + timedelta(days=5))
    none, none_steps = read(T0 + timedelta(days=20))
    assert (everything, recent, none) == (610, 10, 0)
    assert recent_steps * 10 < all_steps and none_steps * 10 < all_steps


def test_retro_hits_are_marked_retro_and_alert_only_new_entries(store: Store, clock: Clock) -> None:
    save(store, [item(1, "Mediboard", "Softway Medical"), item(2, "b")], {"1": [hit("Mediboard", fld="title")]})
    for row in store.due_outbox(clock.now):
        store.mark_sent([row.id], 1, clock.now)
    clock.advance(hours=1)
    found = {("forum", "1"): [hit("Mediboard", fld="title"), hit("Softway")],
             ("forum", "404"): [hit("Softway")]}                  # an item the store does not hold
    assert store.save_retro_hits(found, WATCHES) == 1
    assert store.save_retro_hits(found, WATCHES) == 0             # twice: nothing new
    [row] = store.due_outbox(clock.now)
    assert row.chat == "soc" and row.kind == "alert" and row.payload == {"retro": True}
    assert [(h.watch, h.retro) for h in row.hits] == [("Softway", True)]
    assert [(h.watch, h.retro) for h in store.hits()] == [("Softway", True), ("Mediboard", False)]


def test_iterating_while_saving_retro_hits(store: Store) -> None:
    save(store, [item(n, text="Softway Medical") for n in range(7)])
    total = 0
    for batch in store.iter_posts(T0 - timedelta(days=1), batch=2):
        total += store.save_retro_hits({("forum", i.item_id): [hit("Softway")] for i in batch}, WATCHES)
    assert total == 7


# ---------------------------------------------------------------- prune

def test_prune_empties_old_text_keeps_titles_and_hits(store: Store, clock: Clock) -> None:
    save(store, [item(1, "Mediboard leak", "old secret body")], {"1": [hit("Mediboard", fld="title")]})
    clock.advance(days=400)
    save(store, [item(2, "recent thread", "fresh secret body")])
    year = 365 * 86400.0
    assert store.prune(clock.now, keep_text=year, keep_evidence=year).texts == 1
    assert store.prune(clock.now, keep_text=year, keep_evidence=year).texts == 0
    assert [i.item_id for i, _ in store.search("secret")] == ["2"]      # the FTS index followed
    assert [i.item_id for i, _ in store.search("Mediboard")] == ["1"]   # the title stays searchable
    [view] = store.hits()
    assert view.watch == "Mediboard" and view.item.title == "Mediboard leak" and view.item.text is None
    assert store.integrity_check() == "ok"


# ---------------------------------------------------------------- files and errors

def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is a text file, not a database\n" * 200)
    with pytest.raises(StoreError, match="is not a leakmon database") as info:
        Store(path)
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)
    assert path.read_bytes().startswith(b"this is a text file")        # nothing written over it


def test_another_applications_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="is not a leakmon database"):
        Store(path)


def test_reopening_keeps_everything_and_the_schema_version(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "sub" / "dir" / "leakmon.db"           # parent directories are created
    with Store(path, clock=clock) as s:
        save(s, [item(1, "Mediboard")], {"1": [hit("Mediboard", fld="title")]})
    with Store(path, clock=clock) as s:
        assert s.known_ids("forum", ["1"]) == {"1"} and len(s.due_outbox(clock.now)) == 2
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "leakmon.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(StoreError, match="newer leakmon"):
        Store(path)


def test_sqlite_errors_become_store_errors(tmp_path: Path) -> None:
    s = Store(tmp_path / "leakmon.db")
    s.close()
    with pytest.raises(StoreError) as info:
        s.hits()
    assert isinstance(info.value.__cause__, sqlite3.Error)


def test_a_locked_database_is_a_store_error_and_writes_nothing(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "leakmon.db"
    s = Store(path, clock=clock)
    blocker = sqlite3.connect(path, isolation_level=None, timeout=0)
    blocker.execute("BEGIN IMMEDIATE")
    s._conn.execute("PRAGMA busy_timeout = 0")     # fail at once instead of waiting 10 s
    try:
        with pytest.raises(StoreError, match="locked"):
            save(s, [item(1)])
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert s.known_ids("forum", ["1"]) == set()
    assert save(s, [item(1)]).new_items == 1        # the store is usable again
    s.close()


def test_datetimes_come_back_aware_utc(store: Store) -> None:
    paris = timezone(timedelta(hours=1))
    save(store, [item(1)], poll=ok_poll(started=datetime(2024, 11, 20, 11, 0, tzinfo=paris)))
    status = store.source_status("forum")
    assert status is not None and status.last_poll == T0 and status.last_poll.tzinfo is not None
    assert status.last_poll.utcoffset() == timedelta(0)


# ---------------------------------------------------------------- crash safety

CHILD = textwrap.dedent("""
    import itertools, os, sys
    from datetime import datetime, timedelta, timezone
    from monitor.config import WatchEntry
    from monitor.records import Hit, Item, PollRecord
    from monitor.store import Store

    watches = {"A": WatchEntry("A", terms=("a",), chats=("soc", "ops")),
               "B": WatchEntry("B", terms=("b",), chats=("soc",))}
    store = Store(sys.argv[1])
    print("ready", flush=True)
    pid = os.getpid()
    for k in itertools.count():
        now = datetime.now(timezone.utc)
        if k % 4 == 3:
            store.save_poll(PollRecord("src", now, 0.1, False, "HTTP 503"), [], {}, watches,
                            failure_threshold=1, health_chats=["ops"])
            continue
        items = [Item("src", f"{pid}-{k}-{j}", f"http://x/{pid}/{k}/{j}", f"t {j}", "body a b " * 50)
                 for j in range(20)]
        hits = {it.item_id: [Hit("A", ("a",), "text", 5, 6)] + ([Hit("B", ("b",), "text", 7, 8)] if j % 2 else [])
                for j, it in enumerate(items)}
        store.save_poll(PollRecord("src", now, 0.1, True, items=20), items, hits, watches,
                        failure_threshold=1, health_chats=["ops"])
        for row in store.due_outbox(now + timedelta(hours=1), limit=3):
            store.mark_sent([row.id], 1, now)
        if k == 0:
            print("looping", flush=True)
""")


def check_atomic(path: Path) -> int:
    """Every committed item has its hits and its two alert rows; returns the number of items."""
    with Store(path) as s:
        assert s.integrity_check() == "ok"
    conn = sqlite3.connect(path)
    try:
        n_items = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        ok_polls = conn.execute("SELECT count(*) FROM polls WHERE ok = 1").fetchone()[0]
        assert n_items == 20 * ok_polls                              # poll log committed with its items
        assert conn.execute("SELECT count(*) FROM items i WHERE NOT EXISTS "
                            "(SELECT 1 FROM hits h WHERE h.item_pk = i.id AND h.watch = 'A')").fetchone()[0] == 0
        rows = conn.execute("SELECT item_pk, chat, hit_ids FROM outbox WHERE kind = 'alert'").fetchall()
        assert len(rows) == 2 * n_items                              # one row per (item, chat)
        named = {(pk, chat): set(json.loads(ids)) for pk, chat, ids in rows}
        for pk, hid, watch in conn.execute("SELECT item_pk, id, watch FROM hits"):
            assert hid in named[(pk, "soc")]
            assert (hid in named[(pk, "ops")]) == (watch == "A")
        return n_items
    finally:
        conn.close()


def test_sigkill_during_writes_loses_nothing_committed(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(1234)
    counts = []
    for _ in range(6):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                                 env=env, cwd=ROOT, text=True)
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
            assert child.stdout.readline().strip() == "looping"
            threading.Event().wait(rng.uniform(0.0, 0.15))          # a random moment in the write loop
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
            if child.stdout:
                child.stdout.close()
        assert child.returncode == -signal.SIGKILL
        counts.append(check_atomic(path))
    assert counts == sorted(counts) and counts[0] > 0                # nothing committed was lost


# ---------------------------------------------------------------- asyncio

def test_async_store_runs_every_call_in_one_worker_thread(tmp_path: Path) -> None:
    threads: set[str] = set()

    def clock() -> datetime:
        threads.add(threading.current_thread().name)
        return T0

    async def scenario() -> None:
        store = AsyncStore(tmp_path / "leakmon.db", clock=clock)
        try:
            listing = [item(n, "Mediboard", "x") for n in range(5)]
            assert await store.to_match("forum", listing) == listing
            result = await store.save_poll(ok_poll(n=5), listing, {"0": [hit("Mediboard", fld="title")]},
                                           WATCHES, failure_threshold=3, health_chats=["ops"])
            assert result.new_items == 5 and result.alerts == 2
            results = await asyncio.gather(*(store.known_ids("forum", [str(n)]) for n in range(5)))
            assert results == [{str(n)} for n in range(5)]
            assert len(await store.due_outbox(T0)) == 2
            await store.enqueue_text(["ops"], {"text": "hello"})
            batches = [b async for b in store.iter_posts(T0 - timedelta(days=1), batch=2)]
            assert [len(b) for b in batches] == [2, 2, 1]
            assert (await store.search("mediboard"))[0][0].title == "Mediboard"
            with pytest.raises(AttributeError):
                store.no_such_method  # noqa: B018
        finally:
            await store.close()
        with pytest.raises(StoreError):
            store.store.hits()                                   # closed for good

    asyncio.run(scenario())
    assert len(threads) == 1 and threads != {threading.current_thread().name}


def test_async_store_open_in_a_thread_and_context_manager(tmp_path: Path) -> None:
    async def scenario() -> int:
        async with await AsyncStore.open(tmp_path / "leakmon.db") as store:
            await store.set_meta("k", "v")
            return len(await store.get_meta("k"))

    assert asyncio.run(scenario()) == 1


def test_a_new_database_whose_write_lock_is_held_opens_once_it_is_released(tmp_path: Path) -> None:
    # Another process holding the new file's write lock (creating it at the same moment): SQLite
    # refuses the switch to WAL at once, without waiting, to avoid a deadlock. Opening waits for it.
    path = tmp_path / "new.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    released = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    released.start()
    try:
        with Store(path) as store:
            assert store.integrity_check() == "ok"
    finally:
        released.join()
        other.close()
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    check.close()


def test_processes_creating_one_new_database_at_once_all_open_it(tmp_path: Path) -> None:
    # `run`, `once` and `retrohunt` started together on a file that does not exist yet
    path = tmp_path / "new.db"
    script = textwrap.dedent(f"""
        import sys, time
        from monitor.store import Store
        time.sleep(max(0.0, {__import__('time').time() + 1.0!r} - time.time()))   # start together
        Store({str(path)!r}).close()
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
