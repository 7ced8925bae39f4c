"""Parsed ``[[watch_file]]`` CSVs cached between starts (a registry of 100,000 rows parses in ~0.5 s).

The cache holds the (name, terms) rows of one file as read with one spec (columns, separator),
keyed by :func:`digest`: a hash of the file's content and the spec, so an edited file is read
again. Stored in the compiled-list cache directory (:func:`monitor.cachedir.default_cache_dir`).
"""

from __future__ import annotations

import hashlib
import marshal
from pathlib import Path
from typing import Any

from monitor.cachedir import default_cache_dir, write_atomically

_SUFFIX = ".rows"
_FORMAT = "leakmon-rows-1"


def digest(content: bytes, spec: Any) -> str:
    """What decides the rows read from a watch file: its bytes, the columns and separator read,
    and the version of this format (a change in how rows are read changes every digest).

    The content itself is hashed (10 MB in ~20 ms), not its size or time: an edit within one
    clock tick that keeps the size is still seen.
    """
    hashed = hashlib.sha256(content)
    hashed.update(repr((_FORMAT, spec.name_column, tuple(spec.terms_columns), spec.separator)).encode())
    return hashed.hexdigest()


def _file(key: str) -> Path | None:
    cache_dir = default_cache_dir()
    return None if cache_dir is None else cache_dir / (key + _SUFFIX)


def load(key: str) -> list[tuple[str, tuple[str, ...]]] | None:
    """The cached rows of the file whose :func:`digest` is ``key``, or None."""
    cached = _file(key)
    if cached is None:
        return None
    try:
        rows = marshal.loads(cached.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return rows if isinstance(rows, list) else None


def save(key: str, rows: list[tuple[str, tuple[str, ...]]]) -> None:
    """Cache the rows read from the content whose :func:`digest` is ``key`` (atomically; never fatal)."""
    cached = _file(key)
    if cached is None:
        return
    write_atomically(cached, marshal.dumps(rows))
