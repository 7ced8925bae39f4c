"""The life of a worker process (listing parsers, retro-hunt matchers): it ends with its parent.

A pool's workers wait on their call queue, and each holds a write end of that queue itself: when
the parent dies without stopping the pool (kill -9, the OOM killer), no end of file ever reaches
them and they would wait forever, holding memory (and multiprocessing's resource tracker with
them). Each worker therefore watches its parent's sentinel, which becomes ready when the parent
is gone, and exits then.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from multiprocessing.connection import wait

__all__ = ["exit_with_parent"]


def exit_with_parent() -> None:
    """In a worker process: exit at once when the parent process is gone (nothing to do in a
    process that was not started by multiprocessing)."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        wait([sentinel])
        os._exit(0)         # nobody is left to give a result to; no cleanup of the parent's state

    threading.Thread(target=watch, name="leakmon-parent-watch", daemon=True).start()
