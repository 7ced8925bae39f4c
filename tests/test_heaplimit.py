"""The daemon's fixed mmap threshold: big blocks freed after a big start-up block go back to the system."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# A 24 MB block freed (as start-up frees the cached list read from disk), then 48 blocks of 1 MB
# (pages, parse results) with small blocks after them, all freed but the small ones: how much of
# the 48 MB does the process still hold?
CHILD = r"""
import os, sys
from monitor.heaplimit import fix_mmap_threshold

def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) // 1024

fixed = fix_mmap_threshold() if sys.argv[1] == "fix" else None
big = bytearray(24 << 20)
del big
before = rss()
blocks = [bytearray(1 << 20) for _ in range(48)]
pins = [bytearray(4096) for _ in range(64)]
del blocks
print(fixed, rss() - before, os.environ.get("MALLOC_MMAP_THRESHOLD_"))
"""

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")


def child(mode: str, **env: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True,
                         env={**{k: v for k, v in os.environ.items() if k != "MALLOC_MMAP_THRESHOLD_"},
                              "PYTHONPATH": str(ROOT), **env})
    return out.stdout.split()


@glibc
def test_freed_big_blocks_are_given_back_once_the_threshold_is_fixed() -> None:
    fixed, kept, env = child("fix")
    assert fixed == "True" and env == "131072"      # and the parse workers it spawns inherit it
    assert int(kept) < 12
    # the same without it: glibc had raised its threshold to 24 MB and kept the 48 MB in its heap
    fixed, kept, env = child("plain")
    assert fixed == "None" and env == "None"
    assert int(kept) > 36


@glibc
def test_the_operators_own_setting_wins() -> None:
    fixed, _kept, env = child("fix", MALLOC_MMAP_THRESHOLD_="65536")
    assert fixed == "False" and env == "65536"
