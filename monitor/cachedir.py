"""Where leakmon caches what it compiles (watch lists, parsed watch files): one directory, read
from the environment. Apart from ``monitor/match.py`` so that the config reader's watch-file
cache can use it without importing the matcher (which imports the config)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_cache_dir"]


def default_cache_dir() -> Path | None:
    """Where compiled watch lists are cached: ``$LEAKMON_CACHE_DIR`` (empty: no cache), else
    ``$XDG_CACHE_HOME/leakmon``, else ``~/.cache/leakmon``."""
    configured = os.environ.get("LEAKMON_CACHE_DIR")
    if configured is not None:
        return Path(configured).expanduser() if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "leakmon"
