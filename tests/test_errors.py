"""Every leakmon error carries its reason in words on the base class."""

from __future__ import annotations

import pytest

from monitor.errors import (
    ConfigError,
    DeliveryChatMigrated,
    DeliveryRateLimited,
    DeliveryRefused,
    DeliveryTransient,
    FetchError,
    LeakmonError,
    NotModified,
    ParseError,
    StoreError,
)


@pytest.mark.parametrize("error, reason", [
    (ConfigError("leakmon.toml", "sources.x.url", "missing"), "leakmon.toml: sources.x.url: missing"),
    (StoreError("db.sqlite is locked"), "db.sqlite is locked"),
    (ParseError("no items found"), "no items found"),
    (NotModified("http://forum.test/"), "http://forum.test/"),
    (FetchError("HTTP 503", "http://forum.test/", status=503), "HTTP 503"),
    (DeliveryTransient("network error"), "network error"),
    (DeliveryRefused("chat not found"), "chat not found"),
    (DeliveryRateLimited(3), "rate limited by Telegram: retry after 3s"),
    (DeliveryChatMigrated(-100), "chat migrated to -100"),
], ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "")
def test_reason_is_on_the_base_error(error: LeakmonError, reason: str) -> None:
    base: LeakmonError = error
    assert base.reason == reason == str(error)


def test_fetch_error_status_is_an_int_or_none() -> None:
    assert FetchError("HTTP 404", status=404).status == 404
    assert FetchError("timed out after 5s").status is None
