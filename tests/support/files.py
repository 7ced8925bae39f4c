"""The saved pages the tests parse and serve (``tests/fixtures``, written for the tests)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def fixture(name: str) -> bytes:
    """The bytes of ``tests/fixtures/<name>`` (``name`` may hold a sub-folder: ``"e2e/feed.xml"``)."""
    return (FIXTURES / name).read_bytes()
