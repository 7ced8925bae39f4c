"""Short human texts for times and durations, shared by the CLI tables and the bot's replies.

Durations are read by :func:`monitor.config.parse_duration` (``30s``, ``10m``, ``2h``, ``1d``);
:func:`span` writes them back in the same units.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["ago", "span"]

_UNITS = (("d", 86400), ("h", 3600), ("m", 60))


def ago(when: datetime | None, now: datetime | None = None) -> str:
    """``"3m ago"`` style age of ``when`` (``"never"`` for None); a time in the future is ``"0s ago"``."""
    if when is None:
        return "never"
    seconds = max(0.0, ((now or datetime.now(UTC)) - when).total_seconds())
    for unit, size in _UNITS:
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def span(seconds: float) -> str:
    """A duration in the largest unit that divides it exactly: ``86400`` -> ``"1d"``, ``90`` -> ``"90s"``."""
    for unit, size in _UNITS:
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
