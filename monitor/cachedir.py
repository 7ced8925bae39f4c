"""Where leakmon caches what it compiles (watch lists, parsed watch files): one directory, read
from the environment. Apart from ``monitor/match.py`` so that the config reader's watch-file
cache can use it without importing the matcher (which imports the config)."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

__all__ = ["MAX_AGE", "default_cache_dir", "write_atomically"]

log = logging.getLogger(__name__)

MAX_AGE = 30 * 86400     # a cached file unused this long (seconds) is deleted by the next write of its kind


def default_cache_dir() -> Path | None:
    """Where compiled watch lists are cached: ``$LEAKMON_CACHE_DIR`` (empty: no cache), else
    ``$XDG_CACHE_HOME/leakmon``, else ``~/.cache/leakmon``."""
    configured = os.environ.get("LEAKMON_CACHE_DIR")
    if configured is not None:
        return Path(configured).expanduser() if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "leakmon"


def write_atomically(path: Path, data: bytes, *, prune: bool = False) -> bool:
    """Write ``data`` to ``path`` through a temporary file, so a crash never leaves a torn file under the
    final name; with ``prune``, delete the files of the same suffix unused for :data:`MAX_AGE`. A cache
    that cannot be written is never fatal: False, with one warning."""
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, path)
        if prune:
            cutoff = time.time() - MAX_AGE
            for old in path.parent.glob("*" + path.suffix):
                if old.stat().st_mtime < cutoff:
                    old.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("cannot write the cache file %s: %s", path, exc.strerror or exc)
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        return False
    return True
