"""The store's business rules as pure functions: source health, repost groups, alert routing and
mutes, send claims. No database: records in, records out."""

from __future__ import annotations

import os

import pytest

from monitor.health import HealthEvent, HealthState, transition
from monitor.reposts import EarlierHit, group_of, title_key
from monitor.routing import Route, caught_by_mute, outbox_row, routes
from monitor.sendclaims import claim_live, claim_owner, claimable, owner_gone, pause_until
from tests.support.records import failed_poll, ok_poll

STARTED = "2024-11-20T10:00:00.000000Z"
LATER = "2024-11-20T11:00:00.000000Z"
TITLE = "Mediboard 758,912 French patients database"


# ---------------------------------------------------------------- health

def test_failures_reach_the_threshold_once_then_recover_once() -> None:
    state = HealthState(last_ok="2024-11-20T09:00:00.000000Z")
    events = []
    for _ in range(4):
        state, event = transition(state, failed_poll("HTTP 503"), 3, STARTED if not events else LATER)
        events.append(event)
    assert events[:2] == [None, None] and events[3] is None
    assert events[2] == HealthEvent("failing", {"source": "forum", "event": "failing", "reason": "HTTP 503",
                                                "failures": 3, "since": STARTED})
    assert (state.consecutive_failures, state.health_alerted, state.failing_since) == (4, True, STARTED)
    assert state.last_ok == "2024-11-20T09:00:00.000000Z" and state.last_error == "HTTP 503"
    state, event = transition(state, ok_poll(), 3, LATER)
    assert event == HealthEvent("recovered", {"source": "forum", "event": "recovered", "failures": 4,
                                              "since": STARTED})
    assert state == HealthState(0, False, None, LATER, "HTTP 503")   # the last error stays on record
    assert transition(state, ok_poll(), 3, LATER) == (state, None)


def test_failures_below_the_threshold_then_a_success_say_nothing() -> None:
    state, _ = transition(HealthState(), failed_poll(reason=""), 3, STARTED)
    assert state.last_error == "unknown error"
    state, _ = transition(state, failed_poll(), 3, LATER)
    state, event = transition(state, ok_poll(), 3, LATER)
    assert event is None and state.consecutive_failures == 0 and state.failing_since is None


# ---------------------------------------------------------------- repost groups

def test_a_repost_joins_the_oldest_matching_group() -> None:
    key = title_key("MEDIBOARD - 758 912 french patients DATABASE")
    candidates = [EarlierHit(9, 4, 30, TITLE),                  # itself a repost of hit 4
                  EarlierHit(7, None, 20, TITLE),
                  EarlierHit(8, None, 25, "Mediboard admin panel access for sale")]
    assert group_of(key, candidates) == (4, None)             # hit 4's item is looked up by the caller
    assert group_of(key, candidates[1:]) == (7, 20)


def test_no_group_for_other_posts_or_generic_titles() -> None:
    assert group_of(title_key(TITLE), [EarlierHit(1, None, 2, "CHU de Rennes dump part 1")]) is None
    assert group_of(title_key("Mediboard leak"), [EarlierHit(1, None, 2, "Mediboard leak")]) is None
    assert group_of(title_key(TITLE), []) is None


# ---------------------------------------------------------------- routing and mutes

def test_one_route_per_chat_and_a_muted_chat_holds_its_row() -> None:
    found = routes(5, "Mediboard", ["soc", "ops", "soc"], None, {("ops", "Mediboard"), ("soc", "Other")})
    assert found == [Route(5, "soc", None, None), Route(5, "ops", None, "Mediboard")]
    assert outbox_row(found[0], retro=False, first_item_pk=None) == ("alert", "pending", {})
    assert outbox_row(found[1], retro=True, first_item_pk=None) == \
        ("alert", "muted", {"retro": True, "muted_watch": "Mediboard"})
    assert outbox_row(Route(5, "soc", 12, None), retro=False, first_item_pk=3) == \
        ("repost", "pending", {"first_hit": 12, "first_item_pk": 3})


def test_a_mute_holds_only_rows_that_name_nothing_else() -> None:
    watches_of = {1: {"Mediboard"}, 2: {"Mediboard", "Softway"}, 3: {"Softway"}}
    assert caught_by_mute(watches_of, "Mediboard") == [1]
    assert caught_by_mute(watches_of, "Nobody") == []


# ---------------------------------------------------------------- send claims

def test_a_row_is_claimable_when_pending_due_and_not_held_by_another_live_sender() -> None:
    me, other = claim_owner(), claim_owner()
    assert me != other and me.split(":")[:2] == other.split(":")[:2]
    assert claimable([("pending", STARTED, None, None)], me, LATER)
    assert not claimable([("pending", LATER, None, None)], me, STARTED)                 # not due yet
    assert not claimable([("sent", STARTED, None, None)], me, LATER)
    assert not claimable([("pending", STARTED, other, "2099-01-01T00:00:00.000000Z")], me, LATER)
    assert claimable([("pending", STARTED, me, "2099-01-01T00:00:00.000000Z")], me, LATER)   # its own
    assert claimable([("pending", STARTED, other, STARTED)], me, LATER)                 # lease ran out


def test_a_claim_of_a_dead_process_on_this_machine_does_not_hold() -> None:
    host = claim_owner().split(":")[0]
    dead = f"{host}:{2 ** 22 + 12345}:abc"          # above the default pid_max: no such process
    assert owner_gone(dead) and owner_gone(None)
    assert not owner_gone(f"{host}:{os.getpid()}:abc") and not owner_gone("elsewhere:1:abc")
    assert not claim_live(dead, "2099-01-01T00:00:00.000000Z", LATER)
    assert claim_live("elsewhere:1:abc", "2099-01-01T00:00:00.000000Z", LATER)


@pytest.mark.parametrize("value, seconds", [(None, 0.0), ("", 0.0), ("1700000000.5", 1700000000.5), ("soon", 0.0)])
def test_a_stored_pause_reads_as_epoch_seconds(value: str | None, seconds: float) -> None:
    assert pause_until(value) == seconds
