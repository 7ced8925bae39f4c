"""One ``[[source]]`` of the config file, as read: the record the config builds and every source
kind reads its own options from.

It lives apart from ``monitor/config.py`` so that ``sources/`` can name it without importing the
config reader, which imports ``sources`` to build each source's options: no import cycle.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.redaction import remember_secret

__all__ = ["SourceConfig"]


@dataclass(frozen=True)
class SourceConfig:
    """One ``[[source]]``. ``options`` is the kind's own typed Options (see ``sources``)."""

    name: str
    kind: str
    url: str
    interval: float = 600.0
    proxy: str | None = None         # resolved proxy URL; None = direct
    follow: bool = False
    pages: int = 1
    cookies_env: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    preset: str | None = None
    selectors: Mapping[str, str] = field(default_factory=dict)
    items: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    options: Any = None

    def cookies(self) -> str | None:
        """The Cookie header from the environment variable ``cookies_env`` (never stored)."""
        if not self.cookies_env:
            return None
        value = os.environ.get(self.cookies_env) or None
        remember_secret(value)
        return value
