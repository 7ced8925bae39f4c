"""`leakmon run` with its parse worker: a big listing parsed there is alerted, and SIGTERM stops
the daemon and every process it started (an orphaned worker would outlive a restart)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from sources.parsepool import POOL_BYTES
from tests.daemon_world import SOC, RunningDaemon, daemon_config, serve_feed, wait_for
from tests.fakebot import FakeBot
from tests.loopback import LoopbackSite

ROW = ('<tr class="inline_row"><td class="trow1"><div><span><span class="subject_old" id="tid_{tid}">'
       '<a href="Thread-{tid}">{title}</a></span></span><div><span class="author smalltext">'
       '<a href="User-{tid}">user{tid}</a>, </span><span class="thread_start_datetime smalltext">'
       '<span title="11-19-2024, 10:41 PM">1 hour ago</span></span></div></div></td>'
       '<td class="trow1">4</td><td class="trow1">1,024</td></tr>\n')


def mybb_listing(titles: list[str]) -> bytes:
    """A MyBB forumdisplay page, one row per title (thread ids 1000, 1001, ...)."""
    rows = "".join(ROW.format(tid=1000 + k, title=title) for k, title in enumerate(titles))
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Databases</title></head><body>'
            f'<table class="tborder clear">{rows}</table></body></html>').encode()


def forum_config(site: LoopbackSite, bot: FakeBot, tmp_path: Path) -> Path:
    """The daemon world's config (a feed, alerts to the fake Bot API) with the forum at /forum."""
    config = tmp_path / "config.toml"
    config.write_text(daemon_config(site.url(""), tmp_path / "l.db", bot.api_url, interval="60s")
                      + f'\n[[source]]\nname = "forum"\nkind = "html"\npreset = "mybb"\nurl = "{site.url("/forum")}"\n'
                        'interval = "60s"\n', encoding="utf-8")
    return config


def children(pid: int) -> set[int]:
    """Every process under ``pid`` (the parse workers and multiprocessing's helpers)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                kids = {int(k) for k in (task / "children").read_text().split()}
            except OSError:
                continue
            todo.extend(kids - found)
            found |= kids
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def survivors(pids: set[int], seconds: float) -> list[bytes]:
    """The command lines of the processes of ``pids`` still alive after up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = []
    for pid in pids:
        try:
            left.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ") if alive(pid) else None)
        except OSError:           # it ended just now
            continue
    return [cmdline for cmdline in left if cmdline is not None]


def test_a_big_listing_is_parsed_in_the_worker_and_sigterm_stops_every_process(
        site: LoopbackSite, bot: FakeBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    titles = [f"Combolist fresh private access number {k}" for k in range(60)]
    titles[37] = "Mediboard database of a French hospital for sale"
    listing = mybb_listing(titles)
    assert len(listing) >= POOL_BYTES          # the page goes to the worker, not the poll's thread
    site.route("/forum", listing)
    serve_feed(site, [("n1", "Weekly news", "nothing")])
    config = forum_config(site, bot, tmp_path)
    monkeypatch.delenv("LEAKMON_PARSE_WORKERS", raising=False)     # the default: workers on
    daemon = RunningDaemon(config, bot, tmp_path / "run.log")
    started: set[int] = set()
    try:
        wait_for(lambda: any("Mediboard database of a French hospital" in t for t in bot.texts(SOC)), 30,
                 "the alert of the listing's row")
        started = children(daemon.proc.pid)
        assert started, "no worker process: the listing was parsed in the daemon's own process"
    finally:
        code = daemon.stop(signal.SIGTERM)
    assert code == 0, daemon.output()
    assert "Traceback" not in daemon.output()
    assert not survivors(started, 10), "a worker process outlived the daemon"
    assert len([t for t in bot.texts(SOC) if "Mediboard database of a French hospital" in t]) == 1


def test_the_worker_does_not_outlive_a_killed_daemon(site: LoopbackSite, bot: FakeBot, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # kill -9 (the OOM killer, an operator): no handler runs, the worker must notice by itself.
    site.route("/forum", mybb_listing([f"Mediboard thread {k}" for k in range(60)]))
    serve_feed(site, [("n1", "Weekly news", "nothing")])
    config = forum_config(site, bot, tmp_path)
    monkeypatch.delenv("LEAKMON_PARSE_WORKERS", raising=False)
    daemon = RunningDaemon(config, bot, tmp_path / "run.log")
    try:
        wait_for(lambda: "poll forum" in daemon.output(), 30, "the forum's poll")
        started = children(daemon.proc.pid)
        assert started
    finally:
        daemon.stop(signal.SIGKILL)
    left = survivors(started, 15)
    assert not left, f"processes outlived the killed daemon: {left}"
