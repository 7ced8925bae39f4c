"""Injected clocks: tests move time by hand instead of sleeping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

#: The start time of the store, outbox and command tests.
T0 = datetime(2024, 11, 20, 10, 0, tzinfo=UTC)


class Clock:
    """A wall clock (``clock() -> datetime``) the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move on by ``timedelta(**delta)``; returns the new time."""
        self.now += timedelta(**delta)
        return self.now


class SleepClock:
    """A monotonic clock (``clock() -> float``) that moves only when slept through, with its
    ``sleep`` to inject beside it: rate limits and backoffs cost no real time. Each sleep is
    recorded in ``sleeps``."""

    def __init__(self, start: float = T0.timestamp()) -> None:
        self.t = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        """Move on by ``seconds`` (negative: not at all) and let other tasks run once."""
        self.sleeps.append(seconds)
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)
