"""`leakmon run` delivering while `leakmon once` and `leakmon retrohunt` run on the same database:
every outbox row reaches Telegram exactly once, and 1 message/s per chat holds for them together."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.daemon_world import SOC, RunningDaemon, daemon_config, serve_feed, wait_for
from tests.fakebot import FakeBot

POSTS = 8          # under the digest threshold: one message per post


def start(config: Path, bot: FakeBot, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    env["LEAKMON_TEST_TOKEN"] = bot.token
    return subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def test_run_once_and_retrohunt_together_send_each_row_once_and_keep_the_pace(bot: FakeBot, site,
                                                                            tmp_path: Path) -> None:
    serve_feed(site, [(f"g{n}", f"Mediboard leak #{n}", f"part {n}") for n in range(POSTS)])
    config = tmp_path / "config.toml"
    db = tmp_path / "l.db"
    config.write_text(daemon_config(site.url(""), db, bot.api_url, interval="30s"), encoding="utf-8")
    daemon = RunningDaemon(config, bot, tmp_path / "run.log")
    try:
        # an analyst's commands, started while the daemon polls and delivers
        once = start(config, bot, "once", "--deliver-timeout", "60")
        hunt = start(config, bot, "retrohunt", "--days", "30")
        once_out, _ = once.communicate(timeout=120)
        hunt_out, _ = hunt.communicate(timeout=120)
        assert once.returncode == 0, once_out
        assert hunt.returncode == 0, hunt_out
        wait_for(lambda: _pending(db) == 0, 60, "an empty outbox")
        # every row is marked sent; a second sender's copy, if any, would arrive within a second.
        # A fixed wait on purpose: no event says "the daemon will send nothing more", and stopping
        # it at once could cancel the very duplicate this test looks for.
        wait_for(lambda: len(bot.texts(SOC)) >= POSTS, 30, "every alert")
        time.sleep(2)
    finally:
        code = daemon.stop(signal.SIGTERM)
    assert code == 0, daemon.output()
    messages = [m for m in bot.sent if m.chat_id == SOC]
    counts = Counter(n for m in messages for n in set(re.findall(r"leak (#\d+)\b", m.text)))
    assert counts == Counter({f"#{n}": 1 for n in range(POSTS)}), counts         # each row exactly once
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT count(*), count(DISTINCT message_id) FROM outbox WHERE state = 'sent' "
                            "AND chat = 'soc'").fetchone()
    assert rows == (POSTS, POSTS)
    # 1 message/s per chat across the processes, measured where Telegram would measure it: on arrival.
    # The limit is applied when a process is cleared to send; the time from there to the wire (a
    # thread hop, building the request, a loaded machine) may differ between two processes by some
    # tens of ms, hence the slack. Without a shared pace, two processes send 0.0x s apart.
    arrivals = sorted(m.t for m in messages)
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert min(gaps) >= 0.8, gaps


def _pending(db: Path) -> int:
    with sqlite3.connect(db, timeout=5) as conn:
        return conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
