"""A parse function for tests/test_parse_warm.py: importable, so a worker process can run it."""

from __future__ import annotations

import sys

from monitor.fetch import Page


def loaded(page: Page, name: str) -> bool:
    """Whether the process that runs it had imported module ``name`` already."""
    return name in sys.modules
