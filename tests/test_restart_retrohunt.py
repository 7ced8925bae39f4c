"""An entry added to the watch list while `leakmon run` was stopped is retro-hunted at the next start."""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path

from tests.daemon_world import SOC, RunningDaemon, daemon_config, serve_feed, wait_for
from tests.fakebot import FakeBot

SAINT_LUC = '\n[[watch]]\nname = "Clinique Saint-Luc"\nterms = ["Clinique Saint-Luc"]\n'



def run_until(config: Path, bot: FakeBot, log: Path, done: Callable[[str], bool], what: str) -> str:
    """Start `leakmon run`, wait until ``done(log text)``, stop it; returns the log."""
    daemon = RunningDaemon(config, bot, log)
    try:
        wait_for(lambda: done(daemon.output()), 30, what)
    finally:
        assert daemon.stop(signal.SIGTERM) == 0, daemon.output()
    return daemon.output()


def test_an_entry_added_while_stopped_is_retrohunted_once_at_start(site, bot: FakeBot, tmp_path: Path) -> None:
    serve_feed(site, [("p1", "Dump of Clinique Saint-Luc patients", "csv, 12k rows"),
                      ("p2", "Mediboard accounts", "logins")])
    config = tmp_path / "config.toml"
    db = tmp_path / "l.db"
    config.write_text(daemon_config(site.url(""), db, bot.api_url), encoding="utf-8")
    log = tmp_path / "run.log"
    # first start on an empty database: the watch list is recorded, the post is stored, nobody
    # watches Saint-Luc yet
    output = run_until(config, bot, log, lambda _: any("Mediboard accounts" in t for t in bot.texts(SOC)),
                       "the Mediboard alert")
    assert "fingerprints of 1 entries recorded (first run: no retro-hunt)" in output
    assert not [t for t in bot.texts(SOC) if "Saint-Luc" in t]

    # stopped: the entry is added; at the next start the stored post is retro-hunted and alerted once
    config.write_text(daemon_config(site.url(""), db, bot.api_url, watches=SAINT_LUC), encoding="utf-8")
    output = run_until(config, bot, log, lambda _: any("Saint-Luc" in t for t in bot.texts(SOC)),
                       "the retro-hunt alert")
    assert "retro-hunt of 1 new or changed watch entries: 2 posts, 1 new hits" in output

    # started again without a change: no retro-hunt, no new message
    before = len(bot.texts(SOC))
    output = run_until(config, bot, log, lambda text: text.count("leakmon running") == 3 and
                       "poll news:" in text.split("leakmon running")[-1], "the third run's poll")
    assert output.count("retro-hunt of") == 1
    retro = [t for t in bot.texts(SOC) if "Saint-Luc" in t]
    assert len(retro) == 1 and "retro" in retro[0].lower()
    assert len(bot.texts(SOC)) == before
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM hits WHERE watch = 'Clinique Saint-Luc'").fetchone()[0] == 1
