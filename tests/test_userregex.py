"""Watch-list regexes run on RE2: a hostile post costs milliseconds, and RE2's missing syntax is a config error."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from monitor.config import WatchEntry
from monitor.errors import ConfigError
from monitor.match import Matcher
from tests.daemon_world import rss
from tests.loopback import LoopbackSite

HOSTILE = "a" * 5000 + "!"


def _run(tmp_path: Path, config: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(config), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper() and k != "LEAKMON_TELEGRAM_TOKEN"}
    env["LEAKMON_CACHE_DIR"] = ""
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(path), *args], capture_output=True,
                          text=True, timeout=timeout, env=env, check=False)


def test_a_catastrophic_pattern_on_a_hostile_post_does_not_stall_once(tmp_path: Path) -> None:
    site = LoopbackSite()
    try:
        site.route("/hostile.xml", rss([("h1", HOSTILE, HOSTILE)]), headers={"Content-Type": "application/rss+xml"})
        site.route("/news.xml", rss([("n1", "Mediboard database for sale", "758k patients")]),
                   headers={"Content-Type": "application/rss+xml"})
        config = f"""
            [storage]
            path = "{(tmp_path / 'l.db').as_posix()}"
            [[watch]]
            name = "Backtracker"
            regex = ["(a+)+$"]
            [[watch]]
            name = "Mediboard"
            terms = ["Mediboard"]
            [[source]]
            name = "hostile"
            kind = "rss"
            url = "{site.url('/hostile.xml')}"
            [[source]]
            name = "news"
            kind = "rss"
            url = "{site.url('/news.xml')}"
        """
        # Python's re takes minutes here; the timeout only turns such a hang into a failure.
        result = _run(tmp_path, config, "once", timeout=60)
    finally:
        site.close()
    assert result.returncode == 0, result.stderr
    assert "Mediboard database for sale" in result.stdout           # the other source was polled and alerted
    assert "Backtracker" not in result.stdout                       # and "(a+)+$" does not match "aaa...!"


def test_a_backreference_is_a_config_error_naming_the_entry(tmp_path: Path) -> None:
    result = _run(tmp_path, """
        [[watch]]
        name = "Mediboard"
        terms = ["Mediboard"]
        [[watch]]
        name = "Doubled"
        terms = ["x"]
        regex = ["medi", '(\\w+) \\1']
    """, "check")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "config.toml: watch[1].regex[1]:" in result.stderr
    assert "backreference is not supported" in result.stderr and "RE2" in result.stderr


@pytest.mark.parametrize("pattern, what", [("medi(?=board)", "lookahead"), ("(?<!x)board", "lookbehind"),
                                           ("board\\Z", "invalid escape sequence")])
def test_syntax_re2_lacks_is_refused_at_load_never_run_on_re(tmp_path: Path, pattern: str, what: str) -> None:
    result = _run(tmp_path, f"""
        [[watch]]
        name = "M"
        regex = ['{pattern}']
    """, "check")
    assert result.returncode == 2 and "watch[0].regex[0]" in result.stderr and what in result.stderr
    with pytest.raises(ConfigError, match="regex"):
        Matcher([WatchEntry(name="M", regex=(pattern,))])


def test_regex_semantics_kept_case_insensitive_unicode_located_in_characters() -> None:
    m = Matcher([WatchEntry(name="E", regex=(r"h[ôo]pital\s+été",)),
                 WatchEntry(name="W", regex=(r"\bchu\b",))])
    hits = m.match("Fuite: l'HÔPITAL  ÉTÉ de Rennes", "le CHU aussi")
    assert [(h.watch, h.field, h.start, h.end) for h in hits] == [("E", "title", 9, 21), ("W", "text", 3, 6)]
    assert m.match("CHUs", None) == []
