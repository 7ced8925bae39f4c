"""`leakmon once` on the five-source world with a bot token: messages land in the fake Bot API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from tests.e2e_site import serve_world, world_config
from tests.fakebot import FakeBot

SOC, CERT, OPS = -1001111111111, -1002222222222, -1003333333333

# (chat, marker of the item in the message) for every expected alert message, and nothing else
EXPECTED_MESSAGES = {
    (SOC, "France hospital patients 758k"), (SOC, "Combolist chu-rennes[.]fr 3k lines"),
    (SOC, "Clinique Pasteur 2024"), (SOC, "Mediboard &amp; OX Softway"), (SOC, "Fuite au CHU de Rennes"),
    (SOC, "Clinique Pasteur</a>"),
    (CERT, "HOPITAL SAINT_JOSEPH dump"), (CERT, "Clinique Pasteur 2024"), (CERT, "hôpital saint joseph records"),
    (CERT, "Clinique Pasteur</a>"),
}



@pytest.fixture
def world(site, bot: FakeBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LEAKMON_TEST_TOKEN", bot.token)
    serve_world(site)
    config = tmp_path / "config.toml"
    config.write_text(world_config(site.url(""), tmp_path / "leakmon.db", api_url=bot.api_url), encoding="utf-8")
    return config


def cli(config: Path, *args: str):
    return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)


def test_every_expected_pair_gets_exactly_one_safe_message(world: Path, bot: FakeBot) -> None:
    result = cli(world, "once")
    assert result.exit_code == 0, result.output
    assert not [c for c in bot.calls if c.method == "sendMessage" and not c.token_ok]
    sent = bot.sent
    assert len(sent) == len(EXPECTED_MESSAGES) == 10
    for chat, marker in EXPECTED_MESSAGES:
        matching = [m for m in sent if m.chat_id == chat and marker in m.text]
        assert len(matching) == 1, (chat, marker, [m.text[:80] for m in sent if m.chat_id == chat])
    assert not [m for m in sent if m.chat_id == OPS]                      # outside every entry's routing
    for m in sent:
        assert m.parse_mode == "HTML" and m.preview_disabled             # previews off: no fetch by Telegram
    # an item that matched two entries is one message naming both
    rss1 = [m for m in sent if "Fuite au CHU de Rennes" in m.text]
    assert len(rss1) == 1 and "Mediboard" in rss1[0].text and "CHU de Rennes" in rss1[0].text
    # hostile markup in a title shows as plain text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;" in rss1[0].text
    assert "<script>" in rss1[0].visible and "\u202e" not in rss1[0].visible
    # decoys
    for decoy in ("Rennesson", "Mediboard tutorial", "Mediboards", "Forum rules", "Example Corp", "lol nice"):
        assert not [m for m in sent if decoy in m.text], decoy
    status = json.loads(cli(world, "status", "--format", "json").stdout)
    assert status["outbox"]["pending"] == 0 and status["outbox"]["oldest_pending_age_s"] is None


def test_telegram_down_then_back_delivers_everything_exactly_once(world: Path, bot: FakeBot) -> None:
    bot.fail_5xx(count=None, status=502)
    result = cli(world, "once", "--deliver-timeout", "2")
    assert result.exit_code == 1                                          # delivery failed: said so
    assert bot.sent == []
    status = json.loads(cli(world, "status", "--format", "json").stdout)
    assert status["outbox"]["pending"] == 10
    bot.clear()
    # the retry backoff of the first failure is a few seconds; the next once waits for it
    result = cli(world, "once", "--deliver-timeout", "60")
    assert result.exit_code == 0, result.output
    assert len(bot.sent) == 10
    assert len({(m.chat_id, m.text) for m in bot.sent}) == 10             # each exactly once
    assert json.loads(cli(world, "status", "--format", "json").stdout)["outbox"]["pending"] == 0


def test_test_alert_reaches_each_chat(world: Path, bot: FakeBot) -> None:
    result = cli(world, "test-alert")
    assert result.exit_code == 0, result.output
    assert {m.chat_id for m in bot.sent} == {SOC, CERT, OPS}
    bot.chat_not_found(CERT)
    result = cli(world, "test-alert", "--chat", "cert")
    assert result.exit_code == 1 and "cert: FAILED" in result.output
