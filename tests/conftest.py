"""Shared fixtures: real servers on loopback. Nothing here reaches the internet."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.loopback import LoopbackSite

FIXTURES = Path(__file__).parent / "fixtures"


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


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
