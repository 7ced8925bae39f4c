"""Out of the box: the offline demo, the shipped config, and the Prometheus endpoint of `run`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.daemon_world import RunningDaemon, daemon_config, serve_feed, wait_for
from tests.fakebot import FakeBot

ROOT = Path(__file__).resolve().parent.parent


def test_demo_prints_alerts_offline(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    env["http_proxy"] = env["https_proxy"] = "http://127.0.0.1:9"     # any attempt to go out would fail
    proc = subprocess.run([sys.executable, "-m", "monitor", "demo"], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "[SELLING] France hospital patients 758k - Mediboard export" in out
    assert "Combolist chu-rennes[.]fr 3k lines" in out
    assert "4 hits stored" in out
    assert "Mediboards skins pack" not in out.split("hits stored")[1].split("Not alerted")[0]
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.iterdir())                                 # nothing left behind


def test_shipped_config_passes_check() -> None:
    env = {k: v for k, v in os.environ.items() if k != "LEAKMON_TELEGRAM_TOKEN"}
    proc = subprocess.run([sys.executable, "-m", "monitor", "--config", str(ROOT / "config.toml"), "check"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "config.toml: OK" in proc.stdout
    assert "ransomware-live" in proc.stdout and "alerts go to the console" in proc.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _metric(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_endpoint_counts_polls_hits_and_deliveries(bot: FakeBot, site, tmp_path: Path) -> None:
    port = _free_port()
    items = [("m1", "Mediboard export", "x")]
    serve_feed(site, items)
    config = tmp_path / "config.toml"
    config.write_text(daemon_config(site.url(""), tmp_path / "l.db", bot.api_url)
                      .replace('[metrics]', '') + f'\n[metrics]\nlisten = "127.0.0.1:{port}"\n', encoding="utf-8")
    daemon = RunningDaemon(config, bot, tmp_path / "run.log")

    def scrape() -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                return r.read().decode()
        except OSError:
            return ""
    try:
        wait_for(lambda: _metric(scrape(), "leakmon_alerts_sent_total") >= 1, 20, "a delivered alert in the metrics")
        first = scrape()
        assert _metric(first, "leakmon_polls_total") >= 1
        assert _metric(first, "leakmon_hits_total") == 1
        assert _metric(first, "leakmon_alert_latency_seconds_count") == 1
        polls = _metric(first, "leakmon_polls_total")
        wait_for(lambda: _metric(scrape(), "leakmon_polls_total") > polls, 10, "the poll counter to move")
        site.route("/feed.xml", b"gone", status=503)
        wait_for(lambda: 'leakmon_polls_total{outcome="failed",source="news"}' in scrape(), 10, "a failed poll")
        assert _metric(scrape(), "leakmon_outbox_pending") == 0
    finally:
        assert daemon.stop(signal.SIGTERM) == 0
