"""Send claims on a real SQLite file: one owner per row, leases that run out, dead owners, and the
rate limits and 429 pause shared through the database."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from monitor.sendclaims import claim_owner
from monitor.store import Store
from tests.support.clocks import T0, Clock

LEASE = 300.0
OTHER_MACHINE = "another-host:4242:abcdef"


def paced(everyone: list[datetime], mine: list[datetime]) -> datetime:
    """1 s between two messages to one chat (what the dispatcher asks of the store)."""
    return max([T0 - timedelta(days=1), *(t + timedelta(seconds=1) for t in mine)])


@pytest.fixture
def setup(tmp_path: Path):
    clock = Clock(T0)
    store = Store(tmp_path / "leakmon.db", clock=clock)
    store.enqueue_text(["soc"], {"text": "one"})
    store.enqueue_text(["soc"], {"text": "two"})
    yield store, clock, [r.id for r in store.due_outbox(T0)]
    store.close()


def test_a_claimed_row_is_nobody_elses_until_its_lease_runs_out(setup) -> None:
    store, clock, (one, two) = setup
    assert store.claim_send([one], OTHER_MACHINE, "soc", T0, lease=LEASE).granted
    me = claim_owner()
    lost = store.claim_send([one], me, "soc", T0, lease=LEASE)
    assert lost.lost and not lost.granted
    assert [r.id for r in store.due_outbox(T0)] == [two]                     # in flight elsewhere
    later = T0 + timedelta(seconds=LEASE + 1)                               # the other sender died
    assert [r.id for r in store.due_outbox(later)] == [one, two]
    assert store.claim_send([one], me, "soc", later, lease=LEASE).granted
    store.mark_sent([one], 1, later)
    assert store.claim_send([one], OTHER_MACHINE, "soc", later, lease=LEASE).lost   # sent: gone


def test_a_dead_owner_on_this_machine_frees_its_rows_at_once(setup) -> None:
    store, _, (one, _) = setup
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    dead = f"{socket.gethostname()}:{int(gone.stdout)}:0123456789ab"
    assert store.claim_send([one], dead, "soc", T0, lease=LEASE).granted
    assert store.claim_send([one], claim_owner(), "soc", T0 + timedelta(seconds=1), lease=LEASE).granted


def test_a_message_is_claimed_whole_or_not_at_all(setup) -> None:
    store, _, (one, two) = setup
    assert store.claim_send([two], OTHER_MACHINE, "soc", T0, lease=LEASE).granted
    assert store.claim_send([one, two], claim_owner(), "soc", T0, lease=LEASE).lost
    assert store.claim_send([one], claim_owner(), "soc", T0, lease=LEASE).granted


def test_the_pace_and_the_pause_are_shared_between_owners(setup) -> None:
    store, _, (one, two) = setup
    a, b = claim_owner(), claim_owner()
    assert store.claim_send([one], a, "soc", T0, lease=LEASE, ready=paced).granted
    wait = store.claim_send([two], b, "soc", T0 + timedelta(seconds=0.4), lease=LEASE, ready=paced)
    assert not wait.granted and not wait.paused and wait.wait_until == T0 + timedelta(seconds=1)
    store.set_meta("telegram_pause_until", repr((T0 + timedelta(seconds=30)).timestamp()))
    paused = store.claim_send([two], b, "soc", T0 + timedelta(seconds=2), lease=LEASE,
                              pause_key="telegram_pause_until", ready=paced)
    assert paused.paused and paused.wait_until == T0 + timedelta(seconds=30)
    assert store.claim_send([two], b, "soc", T0 + timedelta(seconds=31), lease=LEASE,
                            pause_key="telegram_pause_until", ready=paced).granted
