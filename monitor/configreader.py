"""Reading TOML tables with errors that name the file, the key path and the problem.

``Reader`` checks the types and unknown keys of one table; ``parse_duration`` and ``parse_size``
read values such as ``"10m"`` and ``"10MB"``.
"""

from __future__ import annotations

import re
from typing import Any

from monitor.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.I)
_SIZE_UNITS = {"b": 1, "kb": 10**3, "kib": 2**10, "mb": 10**6, "mib": 2**20, "gb": 10**9, "gib": 2**30}


# ---------------------------------------------------------------- value parsers

def parse_duration(value: object) -> float:
    """``"30s"``, ``"10m"``, ``"2h"``, ``"1d"`` (or a number of seconds) -> seconds. ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"{value!r} is not a duration")
        return float(value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    raise ValueError(f"{show_value(value)} is not a duration (use 30s, 10m, 2h or 1d)")


def parse_size(value: object) -> int:
    """``10_000_000``, ``"10MB"``, ``"512KiB"`` -> bytes. ValueError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str):
        m = _SIZE.match(value)
        if m:
            return int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()])
    raise ValueError(f"{show_value(value)} is not a size (use a number of bytes or e.g. \"10MB\")")


def show_value(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    return repr(value)


# ---------------------------------------------------------------- the reader

class Reader:
    """Reads one table, checking types and unknown keys, naming the key path on error."""

    def __init__(self, file: str, path: str, table: object) -> None:
        self.file = file
        self.path = path
        if not isinstance(table, dict):
            self.fail("", f"must be a table, not {type_name(table)}")
        self.table: dict[str, Any] = table  # type: ignore[assignment]

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str, problem: str) -> None:
        raise ConfigError(self.file, self.key(name) if name else self.path, problem)

    def only(self, allowed: tuple[str, ...]) -> None:
        for name in self.table:
            if name not in allowed:
                self.fail(name, f"unknown key (expected one of: {', '.join(allowed)})")

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = None, *, required: bool = False) -> Any:
        if name not in self.table:
            if required:
                self.fail(name, "is required")
            return default
        value = self.table[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            wanted = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            self.fail(name, f"must be {wanted}, not {type_name(value)} {show_value(value)}")
        return value

    def text(self, name: str, default: str | None = None, *, required: bool = False, nonempty: bool = True) -> Any:
        value = self.get(name, str, default, required=required)
        if value is not None and nonempty and name in self.table and not value.strip():
            self.fail(name, "must not be empty")
        return value

    def strings(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.get(name, list, None)
        if value is None:
            return default
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.fail(f"{name}[{i}]", f"must be a string, not {type_name(item)} {show_value(item)}")
            if not item.strip():
                self.fail(f"{name}[{i}]", "must not be empty")
            out.append(item)
        return tuple(out)

    def positive_int(self, name: str, default: int, *, minimum: int = 1) -> int:
        value: int = self.get(name, int, default)
        if value < minimum:
            self.fail(name, f"must be at least {minimum}, not {value}")
        return value

    def duration(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        if name not in self.table:
            return default
        try:
            seconds = parse_duration(self.table[name])
        except ValueError as exc:
            self.fail(name, str(exc))
        if seconds < minimum:
            self.fail(name, f"{show_value(self.table[name])} is shorter than the minimum of {minimum:g}s")
        return seconds

    def size(self, name: str, default: int) -> int:
        if name not in self.table:
            return default
        try:
            return parse_size(self.table[name])
        except ValueError as exc:
            self.fail(name, str(exc))
            raise

    def string_map(self, name: str) -> dict[str, str]:
        value = self.get(name, dict, None)
        if value is None:
            return {}
        for k, v in value.items():
            if not isinstance(v, str):
                self.fail(f"{name}.{k}", f"must be a string, not {type_name(v)} {show_value(v)}")
        return dict(value)

    def sub(self, name: str) -> Reader:
        return Reader(self.file, self.key(name), self.table.get(name, {}))


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               list: "a list", dict: "a table"}


def type_name(value: object) -> str:
    for kind, name in ((bool, "true/false"), (str, "a string"), (int, "an integer"),
                       (float, "a number"), (list, "a list"), (dict, "a table")):
        if isinstance(value, kind):
            return name
    return type(value).__name__
