"""Ending a one-shot command's process without tearing the interpreter down.

After ``leakmon once`` has stored and delivered everything, a normal exit still frees every
object and module one by one (~0.1-0.2 s after a poll of hundreds of sources: as long as the
slowest fetches). The process is about to vanish, so nothing is gained by it: :func:`exit_process`
flushes the output, runs the exit handlers (log handlers, worker pools) as a normal exit would,
then ends the process at once.

It does so only when this process was started to run leakmon (``python -m monitor`` or the
``leakmon`` script), never inside another program that called the command (a test runner), and
only when no thread of ours is still running; otherwise it raises SystemExit as usual.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn

__all__ = ["exit_process"]


def _started_as_leakmon() -> bool:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name == "monitor.__main__":
        return True
    cli = sys.modules.get("monitor.cli")           # the console script: from monitor.cli import main
    return cli is not None and getattr(main, "main", None) is getattr(cli, "main", False)


def exit_process(code: int) -> NoReturn:
    """Exit with ``code``: at once after the exit handlers when leakmon owns the process (see the
    module doc), by SystemExit otherwise."""
    if not _started_as_leakmon():
        sys.exit(code)
    _flush()
    # The handlers first: they stop the parse workers and join the pool's threads. They run once
    # (the interpreter forgets them), so the SystemExit below, if any, does not repeat them.
    atexit._run_exitfuncs()
    _flush()
    if any(t is not threading.main_thread() and not t.daemon and t.is_alive() for t in threading.enumerate()):
        sys.exit(code)      # a thread of ours still runs: a normal exit waits for it
    os._exit(code)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
