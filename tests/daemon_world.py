"""Helpers to run `leakmon run` as a real subprocess against a loopback feed and the fake Bot API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape

from tests.fakebot import FakeBot
from tests.loopback import LoopbackSite
from tests.support.waiting import wait_for  # noqa: F401  (the daemon tests import it from here)

SOC, OPS = -1001111111111, -1003333333333


def rss(items: list[tuple[str, str, str]]) -> str:
    """An RSS 2.0 feed of (guid, title, description), newest first."""
    entries = "".join(
        f"<item><title>{escape(t)}</title><link>http://news.invalid/{escape(g)}</link>"
        f"<guid isPermaLink=\"false\">{escape(g)}</guid><description>{escape(d)}</description></item>"
        for g, t, d in reversed(items))
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
            f"<link>http://news.invalid/</link><description>d</description>{entries}</channel></rss>")


def daemon_config(base: str, db: Path, api_url: str, *, interval: str = "1s", watches: str = "",
                  threshold: int = 2) -> str:
    return f'''
[storage]
path = "{db.as_posix()}"
[network]
timeout = "3s"
host_delay = "0s"
[health]
failure_threshold = {threshold}
retrohunt_days = 30
[telegram]
token_env = "LEAKMON_TEST_TOKEN"
api_url = "{api_url}"
default_chats = ["soc"]
health_chats = ["ops"]
[telegram.chats]
soc = {SOC}
ops = {OPS}

[[watch]]
name = "Mediboard"
terms = ["Mediboard"]
severity = "high"
{watches}

[[source]]
name = "news"
kind = "rss"
url = "{base}/feed.xml"
interval = "{interval}"
'''


class RunningDaemon:
    """`python -m monitor run` in a subprocess; stderr goes to a file for the assertions."""

    def __init__(self, config: Path, bot: FakeBot, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
        env["LEAKMON_TEST_TOKEN"] = bot.token
        self.log_path = log
        self.log = log.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                                     stdout=self.log, stderr=self.log, env=env)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def serve_feed(site: LoopbackSite, items: list[tuple[str, str, str]]) -> None:
    site.route("/feed.xml", rss(items), headers={"Content-Type": "application/rss+xml"})
