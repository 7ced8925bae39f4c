"""`leakmon run` watches the watch files too: editing the CSV is a reload, with retro-hunt of the new names."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.daemon_world import OPS, SOC, RunningDaemon, daemon_config, serve_feed, wait_for
from tests.fakebot import FakeBot


def test_a_name_appended_to_a_watch_file_is_retro_hunted_without_restart(site, bot: FakeBot, tmp_path: Path) -> None:
    items = [("p1", "Dump of Clinique Saint-Luc patients", "csv, 12k rows")]
    serve_feed(site, items)
    lists = tmp_path / "lists"
    lists.mkdir()
    csv = lists / "establishments.csv"
    csv.write_text("name,alias\nCHU de Brest,CHRU Brest\n", encoding="utf-8")
    config = tmp_path / "config.toml"
    # a path relative to the config file's folder, as users write it
    config.write_text(daemon_config(site.url(""), tmp_path / "l.db", bot.api_url, watches=(
        '[[watch_file]]\npath = "lists/establishments.csv"\nname_column = "name"\n'
        'terms_columns = ["name", "alias"]\nseverity = "high"\n')), encoding="utf-8")
    daemon = RunningDaemon(config, bot, tmp_path / "run.log")
    try:
        wait_for(lambda: "poll news" in daemon.output(), 20, "the first poll")
        assert bot.texts(SOC) == []                              # nobody watches Saint-Luc yet

        with csv.open("a", encoding="utf-8") as handle:           # the config file itself is untouched
            handle.write("Clinique Saint-Luc,\n")
        wait_for(lambda: any("Saint-Luc" in t for t in bot.texts(SOC)), 20, "the retro-hunt alert")
        retro = [t for t in bot.texts(SOC) if "Saint-Luc" in t]
        assert len(retro) == 1 and "retro" in retro[0].lower()
        assert "config reloaded" in daemon.output()

        # a watch file that turns unreadable is reported once; the running list keeps alerting
        csv.write_text("establishment\nClinique Saint-Luc\n", encoding="utf-8")
        wait_for(lambda: any("establishments.csv" in t for t in bot.texts(OPS)), 20, "the watch file problem")
        items.append(("p2", "CHRU Brest records", "leaked"))
        serve_feed(site, items)
        wait_for(lambda: any("CHRU Brest records" in t for t in bot.texts(SOC)), 15, "an alert under the old list")
        assert len([t for t in bot.texts(OPS) if "establishments.csv" in t]) == 1
    finally:
        code = daemon.stop(signal.SIGTERM)
    assert code == 0, daemon.output()
    assert "Traceback" not in daemon.output()
