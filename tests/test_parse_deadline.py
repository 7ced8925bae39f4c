"""A hostile page that stalls the HTML parser (a nesting bomb: lexbor is quadratic on depth) is
stopped at the parse deadline: its source fails in words, and the other sources' pages, waiting
for the same parse worker, are parsed by a fresh worker, stored and alerted. Polled again by the
daemon, the same page fails at once without reaching the worker, until it changes."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from monitor.errors import ParseError
from sources import json as json_source
from sources import parsepool
from tests.daemon_world import RunningDaemon, daemon_config, serve_feed, wait_for
from tests.fakebot import FakeBot
from tests.loopback import LoopbackSite
from tests.support.bombs import channel_page, mybb_listing, nesting_bomb
from tests.support.sources import FakeFetcher, FakeState, options

DEADLINE = 1.5
ERROR = f"parsing this page took over {DEADLINE:g}s: stopped (hostile or broken markup?)"
EXPECTED_HITS = {("Mediboard", "forum-a", "7"), ("Mediboard", "forum-b", "7"), ("Mediboard", "tg-leaks", "leaks/7")}


def send_page(h: BaseHTTPRequestHandler, body: bytes) -> None:
    """Answer 200 with an HTML body."""
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def late(body: bytes, seconds: float) -> Callable[[BaseHTTPRequestHandler], None]:
    """Answer after ``seconds``: the page reaches the parse worker while it is stuck on the bomb."""
    def handler(h: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        send_page(h, body)
    return handler


def config_text(site: LoopbackSite, db: Path) -> str:
    sources = [("ransom-blog", "html", "/blog"), ("forum-a", "html", "/a/Forum-Leaks"),
               ("forum-b", "html", "/b/Forum-Leaks"), ("tg-leaks", "telegram", "/s/leaks")]
    return (f'[storage]\npath = "{db.as_posix()}"\n[network]\ntimeout = "30s"\nhost_delay = "0s"\n'
            '[[watch]]\nname = "Mediboard"\nterms = ["Mediboard"]\n'
            + "".join(f'[[source]]\nname = "{name}"\nkind = "{kind}"\nurl = "{site.url(path)}"\n'
                      + ('preset = "mybb"\n' if kind == "html" else "") for name, kind, path in sources))


def leakmon(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    env.update(LEAKMON_PARSE_WORKERS="1", LEAKMON_PARSE_TIMEOUT=str(DEADLINE))
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), *args],
                          capture_output=True, text=True, env=env, timeout=180)


def test_a_nesting_bomb_fails_its_source_at_the_deadline_and_the_others_are_stored(site, tmp_path: Path) -> None:
    site.route("/blog", nesting_bomb())
    for forum, who in (("a", "staff"), ("b", "patients")):
        site.route(f"/{forum}/Forum-Leaks", handler=late(mybb_listing(40, f"Mediboard {who}"), 0.3))
    site.route("/s/leaks", handler=late(channel_page("leaks", 20, "Mediboard"), 0.3))
    config = tmp_path / "config.toml"
    config.write_text(config_text(site, tmp_path / "l.db"), encoding="utf-8")

    for run in (1, 2):                      # the next `once` (a fresh process) tries the hostile page again
        once = leakmon(config, "once")
        assert once.returncode == 1, once.stderr
        assert "Traceback" not in once.stderr
        assert f"source ransom-blog failed: {ERROR}" in once.stderr
        if run == 1:                        # alerted
            assert all(f"Dump of Mediboard {who}" in once.stdout for who in ("staff", "patients"))
            assert "New leak: Mediboard" in once.stdout

        status = leakmon(config, "status", "--format", "json")
        by_name = {s["name"]: s for s in json.loads(status.stdout)["sources"]}
        assert by_name["ransom-blog"]["consecutive_failures"] == run
        assert by_name["ransom-blog"]["last_error"] == ERROR
        for name in ("forum-a", "forum-b", "tg-leaks"):
            assert by_name[name]["consecutive_failures"] == 0 and by_name[name]["items_seen"] >= 20, by_name[name]

    hits = leakmon(config, "hits", "--format", "json")
    assert {(h["watch"], h["source"], h["item_id"]) for h in json.loads(hits.stdout)} == EXPECTED_HITS


def test_a_thread_page_that_stalls_the_parser_leaves_its_item_without_text(site, tmp_path: Path) -> None:
    """A hostile post on a followed forum: the poll works, the item keeps its listing title (and
    its hit), the other threads keep their text, and the page is not fetched again."""
    site.route("/c/Forum-Leaks", mybb_listing(10, "Mediboard customers"))
    for n in range(1, 11):
        site.route(f"/c/Thread-{n}", nesting_bomb() if n == 7 else
                   f'<html><body><div class="post_body">Thread {n}: {"Mediboard" if n == 3 else "nothing"} '
                   'here</div></body></html>')
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{(tmp_path / "l.db").as_posix()}"\n[network]\nhost_delay = "0s"\n'
                      '[[watch]]\nname = "Mediboard"\nterms = ["Mediboard"]\n[[source]]\nname = "forum-c"\n'
                      f'kind = "html"\npreset = "mybb"\nurl = "{site.url("/c/Forum-Leaks")}"\nfollow = true\n',
                      encoding="utf-8")

    once = leakmon(config, "once")
    assert once.returncode == 0, once.stderr
    assert (f"forum-c: item page {site.url('/c/Thread-7')} could not be parsed ({ERROR}): kept without its text"
            in once.stderr)
    hits = leakmon(config, "hits", "--format", "json")
    assert {(h["source"], h["item_id"]) for h in json.loads(hits.stdout)} == {("forum-c", "3"), ("forum-c", "7")}
    site.route("/c/Forum-Leaks", mybb_listing(11, "Mediboard customers"))     # one new thread
    site.route("/c/Thread-11", '<html><body><div class="post_body">new</div></body></html>')
    assert leakmon(config, "once").returncode == 0
    assert site.paths().count("/c/Thread-7") == 1 and site.paths().count("/c/Thread-11") == 1


def test_a_tracker_relaying_a_nesting_bomb_fails_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON trackers relay what leak sites write: a description is HTML, parsed by the same parser."""
    monkeypatch.setenv(parsepool.WORKERS_ENV, "1")
    monkeypatch.setenv(parsepool.TIMEOUT_ENV, str(DEADLINE))
    api = "https://api.ransomware.example/v2/recentvictims"
    records = [{"id": "rl-1", "victim": "Clinique Pasteur", "group": "lockbit3", "discovered": "2024-11-20 06:31:12",
                "description": nesting_bomb().decode()}]
    fetch = FakeFetcher(api, {api: json.dumps(records).encode()}, content_type="application/json")
    try:
        with pytest.raises(ParseError) as info:
            asyncio.run(json_source.collect(fetch, options("json", api, preset="ransomware.live"),  # type: ignore[arg-type]
                                            FakeState().state))
    finally:
        parsepool.shutdown()
    assert info.value.reason == ERROR


STALLED_BEFORE = f"this page stalled the parser before (over {DEADLINE:g}s): not parsed again until it changes"


def growing(watched: str) -> Callable[[BaseHTTPRequestHandler], None]:
    """A listing with one thread more at each request: every poll parses it (in the worker)."""
    served = [0]

    def handler(h: BaseHTTPRequestHandler) -> None:
        served[0] += 1
        body = mybb_listing(40 + served[0], watched)
        send_page(h, body)
    return handler


def parse_workers(pid: int) -> set[int]:
    """The daemon's parse worker processes (pebble's, spawned)."""
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.add(int(child))
            except OSError:         # it ended just now
                continue
    return found


def test_the_daemon_refuses_a_page_that_stalled_the_parser_at_once_until_it_changes(
        site: LoopbackSite, bot: FakeBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site.route("/blog", nesting_bomb())
    site.route("/a/Forum-Leaks", handler=growing("Mediboard staff"))
    serve_feed(site, [("n1", "Weekly news", "nothing")])
    config = tmp_path / "config.toml"
    config.write_text(daemon_config(site.url(""), tmp_path / "l.db", bot.api_url, interval="1s")
                      + "".join(f'[[source]]\nname = "{name}"\nkind = "html"\npreset = "mybb"\nurl = "{site.url(path)}"\n'
                                'interval = "1s"\n' for name, path in (("ransom-blog", "/blog"),
                                                                       ("forum-a", "/a/Forum-Leaks"))),
                      encoding="utf-8")
    monkeypatch.setenv(parsepool.WORKERS_ENV, "1")
    monkeypatch.setenv(parsepool.TIMEOUT_ENV, str(DEADLINE))
    daemon = RunningDaemon(config, bot, tmp_path / "run.log")

    def failures() -> list[tuple[str, float]]:
        return [(m[1], float(m[2])) for m in re.finditer(r"poll ransom-blog failed: (.*) \((\d+\.\d+)s\)",
                                                         daemon.output())]

    def forum_polls() -> int:
        return daemon.output().count("poll forum-a: ")

    try:
        wait_for(lambda: len(failures()) >= 2, 60, "the hostile source's second poll")
        workers, polls = parse_workers(daemon.proc.pid), forum_polls()
        wait_for(lambda: len(failures()) >= 4 and forum_polls() >= polls + 2, 60, "more polls of both sources")
        assert parse_workers(daemon.proc.pid) == workers and len(workers) == 1   # never killed again
        status = leakmon(config, "status", "--format", "json")
        by_name = {s["name"]: s for s in json.loads(status.stdout)["sources"]}

        site.route("/blog", mybb_listing(40, "Mediboard patients"))             # the page changes
        wait_for(lambda: "poll ransom-blog: 40 items" in daemon.output(), 30, "the changed page's poll")
    finally:
        code = daemon.stop()
    assert code == 0, daemon.output()
    assert "Traceback" not in daemon.output()
    assert [error for error, _ in failures()[:4]] == [ERROR] + [STALLED_BEFORE] * 3
    assert all(seconds < DEADLINE for _, seconds in failures()[1:4])           # not parsed: far from the deadline
    assert by_name["ransom-blog"]["last_error"] == STALLED_BEFORE
    assert by_name["ransom-blog"]["consecutive_failures"] >= 4
    assert by_name["forum-a"]["consecutive_failures"] == 0 and by_name["forum-a"]["items_seen"] >= 42
    assert "poll forum-a failed" not in daemon.output()
    hits = leakmon(config, "hits", "--format", "json")
    assert {(h["source"], h["item_id"]) for h in json.loads(hits.stdout)} == {("forum-a", "7"), ("ransom-blog", "7")}
