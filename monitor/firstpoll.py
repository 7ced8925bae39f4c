"""When each source's first poll is due after `leakmon run` starts (or a reload adds sources).

Due all at once, thousands of sources queue behind ``[network] concurrency`` slots and most of
the first round runs late. Rule: when the sources scheduled together fit in the network slots,
they are all polled at once (a handful of sources is polled promptly); otherwise each first poll
is put off by a fixed fraction of ``min(interval, MAX_SPREAD)``, the fraction taken from a hash of
the source's name, so the same config gives the same schedule on every start and the polls arrive
evenly over the first interval. Later polls keep their interval from that first one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

MAX_SPREAD = 600.0   # seconds: a source polled every day still gets its first poll within 10 minutes


def name_fraction(name: str) -> float:
    """A fraction in [0, 1) fixed by the source name (the same on every start and machine)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0 ** 64


def first_poll_delays(sources: Iterable[tuple[str, float]], concurrency: int) -> dict[str, float]:
    """Seconds to wait before the first poll of each ``(name, interval)``; 0 for all if they fit the slots."""
    pairs = list(sources)
    if len(pairs) <= concurrency:
        return {name: 0.0 for name, _ in pairs}
    return {name: name_fraction(name) * min(max(interval, 0.0), MAX_SPREAD) for name, interval in pairs}
