"""`leakmon run` as a real process: alerting, source health, live reload with retro-hunt, SIGTERM."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

from tests.daemon_world import OPS, SOC, RunningDaemon, daemon_config, serve_feed, wait_for
from tests.fakebot import FakeBot


def test_run_alerts_new_posts_health_and_sigterm(site, bot: FakeBot, tmp_path: Path) -> None:
    items = [("n1", "Weekly news", "nothing")]
    serve_feed(site, items)
    config = tmp_path / "config.toml"
    config.write_text(daemon_config(site.url(""), tmp_path / "l.db", bot.api_url), encoding="utf-8")
    daemon = RunningDaemon(config, bot, tmp_path / "run.log")
    try:
        wait_for(lambda: "poll news" in daemon.output(), 20, "the first poll")
        # a new post is alerted within two intervals (1 s each), plus delivery
        items.append(("n2", "Mediboard database for sale", "758k patients"))
        serve_feed(site, items)
        wait_for(lambda: any("Mediboard database for sale" in t for t in bot.texts(SOC)), 10, "the alert")

        # the source fails: exactly one health message while it keeps failing, then one recovery
        site.route("/feed.xml", b"unavailable", status=503)
        wait_for(lambda: len(bot.texts(OPS)) >= 1, 15, "the health message")
        polls = len(site.paths())
        wait_for(lambda: len(site.paths()) >= polls + 4, 20, "four more failed polls")
        assert len(bot.texts(OPS)) == 1 and "HTTP 503" in bot.texts(OPS)[0]
        serve_feed(site, items)
        wait_for(lambda: len(bot.texts(OPS)) >= 2, 15, "the recovery message")
        assert "recovered" in bot.texts(OPS)[1].lower()
        assert len([t for t in bot.texts(SOC) if "Mediboard database for sale" in t]) == 1
    finally:
        code = daemon.stop(signal.SIGTERM)
    assert code == 0, daemon.output()
    assert "Traceback" not in daemon.output()


def test_reload_retrohunts_new_entry_and_survives_a_bad_config(site, bot: FakeBot, tmp_path: Path) -> None:
    items = [("p1", "Dump of Clinique Saint-Luc patients", "csv, 12k rows")]
    serve_feed(site, items)
    config = tmp_path / "config.toml"
    good = daemon_config(site.url(""), tmp_path / "l.db", bot.api_url)
    config.write_text(good, encoding="utf-8")
    daemon = RunningDaemon(config, bot, tmp_path / "run.log")
    try:
        wait_for(lambda: "poll news" in daemon.output(), 20, "the first poll")
        assert bot.texts(SOC) == []                                  # nobody watches Saint-Luc yet
        # add a watch entry while running: the stored post is retro-hunted and alerted as such
        config.write_text(good.replace('severity = "high"\n', 'severity = "high"\n\n[[watch]]\n'
                                       'name = "Clinique Saint-Luc"\nterms = ["Clinique Saint-Luc"]\n', 1),
                          encoding="utf-8")
        wait_for(lambda: any("Saint-Luc" in t for t in bot.texts(SOC)), 15, "the retro-hunt alert")
        retro = [t for t in bot.texts(SOC) if "Saint-Luc" in t]
        assert len(retro) == 1 and "retro" in retro[0].lower()
        # and new posts naming it are alerted as usual
        items.append(("p2", "Clinique Saint-Luc, second part", "more rows"))
        serve_feed(site, items)
        wait_for(lambda: any("second part" in t for t in bot.texts(SOC)), 10, "the new post's alert")

        # an invalid config is reported once to the health chat, and the old one keeps alerting
        config.write_text(config.read_text().replace('host_delay = "0s"', 'host_delay = "0s"\nconcurrency = "many"'),
                          encoding="utf-8")
        wait_for(lambda: any("concurrency" in t for t in bot.texts(OPS)), 15, "the config problem message")
        items.append(("p3", "Mediboard accounts", "still running"))
        serve_feed(site, items)
        wait_for(lambda: any("Mediboard accounts" in t for t in bot.texts(SOC)), 10, "an alert under the old config")
        assert len([t for t in bot.texts(OPS) if "concurrency" in t]) == 1
        assert "config not reloaded" in daemon.output()
    finally:
        code = daemon.stop(signal.SIGINT)
    assert code == 0
    assert "Traceback" not in daemon.output()
    with sqlite3.connect(tmp_path / "l.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
