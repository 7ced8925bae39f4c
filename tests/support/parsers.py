"""Parse functions for the worker-process tests: importable, so a worker process can run them."""

from __future__ import annotations

import os

from monitor.fetch import Page


def die(page: Page, code: int) -> None:
    """Kill the process that runs it, as a crash in the HTML parser would."""
    os._exit(code)


def size(page: Page) -> int:
    """Where the parse ran is the question, not what it returns."""
    return len(page.body)


def pid(page: Page) -> int:
    """The process that ran the parse."""
    return os.getpid()
