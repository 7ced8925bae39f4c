"""monitor.timetext: the one relative-time and duration text of the CLI tables and the bot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.config import parse_duration
from monitor.timetext import ago, span

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(seconds=0), "0s ago"), (timedelta(seconds=59), "59s ago"), (timedelta(minutes=3, seconds=5), "3m ago"),
    (timedelta(hours=2, minutes=59), "2h ago"), (timedelta(days=9, hours=23), "9d ago"),
    (timedelta(seconds=-30), "0s ago"),          # a clock a little ahead is "just now", not negative
])
def test_ago(delta: timedelta, text: str) -> None:
    assert ago(NOW - delta, NOW) == text


def test_ago_of_nothing_is_never() -> None:
    assert ago(None, NOW) == "never"


@pytest.mark.parametrize(("seconds", "text"), [(60, "1m"), (90, "90s"), (3600, "1h"), (7200, "2h"),
                                               (86400, "1d"), (90 * 86400, "90d"), (0.5, "0.5s")])
def test_span_reads_back_with_parse_duration(seconds: float, text: str) -> None:
    assert span(seconds) == text
    assert parse_duration(text) == seconds
