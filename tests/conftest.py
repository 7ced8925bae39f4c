"""Shared fixtures: real servers on loopback. Nothing here reaches the internet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import monitor.matchengine as engine_module
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


ENGINES = ["ahocorasick", pytest.param("hyperscan", marks=pytest.mark.skipif(
    not engine_module.hyperscan_available(), reason="hyperscan is not installed (optional engine)"))]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Run the test once per matching engine: hyperscan for every list (when installed), then pyahocorasick.
    The switch is the engine module's own threshold, the one the matcher reads at build time."""
    monkeypatch.setattr(engine_module, "HYPERSCAN_MIN_KEYS", 0 if request.param == "hyperscan" else 1 << 62)
    monkeypatch.setenv("LEAKMON_CACHE_DIR", str(tmp_path / "cache"))
    return str(request.param)
