"""Shared fixtures: real servers on loopback. Nothing here reaches the internet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakebot import FakeBot
from tests.loopback import LoopbackSite


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proxy variables of the machine must never reroute a test (nor the product)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def site():
    """A loopback HTTP server; set routes with ``site.route(path, body)``."""
    server = LoopbackSite()
    yield server
    server.close()


@pytest.fixture
def bot(request: pytest.FixtureRequest) -> Iterator[FakeBot]:
    """A fake Telegram Bot API on loopback (``tests/fakebot.py``).

    Its token is the test module's ``TOKEN`` when it sets one (the module then checks that this
    exact secret never leaks), else FakeBot's default.
    """
    token = getattr(request.module, "TOKEN", None)
    server = FakeBot(token=token) if token else FakeBot()
    yield server
    server.close()
