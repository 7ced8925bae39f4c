"""Secrets (bot token, cookies, URL credentials) never reach the log, a traceback at -v, or the database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.loopback import LoopbackSite

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
COOKIE = "mybbuser=s3cr3t-session-value"
SECRETS = ("AAHdqTcvCH1vGWJx", "s3cr3t-session", "hunter2")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    env.update(LEAKMON_CACHE_DIR="", **extra)
    return env


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_traceback_logged_at_verbose_is_redacted_like_messages(tmp_path: Path, fmt: str) -> None:
    # The real logging set-up of `leakmon -v`, in its own process; the exception chain quotes the
    # token (read from the environment), the Cookie header and a proxy URL with credentials.
    script = textwrap.dedent(f"""
        import logging
        from monitor.config import SourceConfig, TelegramConfig
        from monitor.logs import setup_logging

        setup_logging(verbose=1, fmt={fmt!r})
        token = TelegramConfig(token_env="LEAKMON_TEST_TOKEN").token()
        cookies = SourceConfig(name="f", kind="rss", url="http://x/", cookies_env="F_COOKIES").cookies()
        log = logging.getLogger("leakmon.pipeline")
        try:
            try:
                raise ConnectionError("POST https://api.telegram.org/bot" + token + "/sendMessage")
            except ConnectionError as inner:
                raise RuntimeError("via socks5h://alice:hunter2@127.0.0.1:9050 with Cookie: " + cookies) from inner
        except RuntimeError as exc:
            log.warning("source f: unexpected error: %s", type(exc).__name__, exc_info=True)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False,
                            env=_env(LEAKMON_TEST_TOKEN=TOKEN, F_COOKIES=COOKIE))
    assert result.returncode == 0, result.stderr
    log = result.stderr
    assert "Traceback" in log and "RuntimeError" in log and "ConnectionError" in log
    assert "socks5h://<redacted>@127.0.0.1" in log
    for secret in SECRETS:
        assert secret not in log, log


def test_a_cookie_quoted_by_an_error_reaches_neither_the_log_nor_the_database(tmp_path: Path) -> None:
    # A Cookie header with a line break: httpx refuses it and quotes the header in its error.
    site = LoopbackSite()
    try:
        site.route("/feed.xml", b"<rss/>")
        config = tmp_path / "config.toml"
        config.write_text(textwrap.dedent(f"""
            [storage]
            path = "{(tmp_path / 'l.db').as_posix()}"
            [[watch]]
            name = "X"
            terms = ["x"]
            [[source]]
            name = "news"
            kind = "rss"
            url = "http://alice:hunter2@127.0.0.1:{site.port}/feed.xml"
            cookies_env = "NEWS_COOKIES"
        """), encoding="utf-8")
        result = subprocess.run([sys.executable, "-m", "monitor", "-v", "--config", str(config), "once"],
                                capture_output=True, text=True, timeout=60, check=False,
                                env=_env(NEWS_COOKIES=COOKIE + "\nX-Injected: 1"))
    finally:
        site.close()
    assert "Illegal header value" in result.stderr, result.stderr     # the failure did happen
    with sqlite3.connect(tmp_path / "l.db") as conn:
        stored = " ".join(str(v) for row in conn.execute("SELECT * FROM polls") for v in row)
        stored += " ".join(str(v) for row in conn.execute("SELECT * FROM meta") for v in row)
    assert "Illegal header value" in stored
    for secret in SECRETS:
        assert secret not in result.stderr + result.stdout and secret not in stored
