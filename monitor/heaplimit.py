"""Keep the daemon's C heap from holding on to memory that start-up freed.

glibc's malloc serves a block of 128 KB or more with its own ``mmap`` and gives it back to the
system when it is freed, but it then raises that threshold to the size of the freed block (up to
32 MB), so that later big blocks come from the heap instead, whose freed middle is never returned.
Start-up with 100,000 names frees blocks of 10-22 MB (the cached rows and compiled list as read
from disk, the fingerprints' texts): afterwards every page, parse result and SQLite buffer of the
first polls grew the heap, and the daemon kept ~60 MB it no longer used (measured with
``bench/bench_capacity.py``). A fixed threshold keeps big blocks in their own mappings.

Only ``leakmon run`` does this: a long-lived process, where what is kept counts more than the
~1 us an ``mmap`` costs. ``MALLOC_MMAP_THRESHOLD_`` set by the operator wins (glibc read it at
start); the variable is also set for the processes the daemon starts (its parse workers).
"""

from __future__ import annotations

import os

#: glibc's own default before it adapts: blocks this big or bigger get a mapping of their own.
MMAP_THRESHOLD = 128 * 1024
ENV = "MALLOC_MMAP_THRESHOLD_"
_M_MMAP_THRESHOLD = -3            # mallopt's parameter number in glibc's <malloc.h>


def fix_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold at :data:`MMAP_THRESHOLD` in this process and, through the
    environment, in the processes it starts. False when the operator set it or this is not glibc."""
    if os.environ.get(ENV):
        return False
    os.environ[ENV] = str(MMAP_THRESHOLD)
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):    # not glibc (macOS, or a libc without mallopt)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
