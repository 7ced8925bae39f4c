"""Parsing pages in worker processes, so that a poll of many sources uses a second core, and so
that a page that stalls the parser can be stopped.

Listings, t.me previews, feeds, JSON documents and followed thread pages come here. Parsing a
listing is Python work on every row (visible text, dates, links): in one process it
holds the GIL, and the event loop that fetches the other sources waits for it. Pages of at least
:data:`POOL_BYTES` go to a pool of worker processes (started at the first such page, kept for the
life of the process); smaller ones, where a round trip to a worker (~0.3 ms) would cost more than
it saves, stay with :func:`sources.common.off_loop`.

- The parse function, the page and the options are pickled to the worker; the result (items) or
  the exception it raised comes back as it is, so the result is the one the same function gives
  in this process.
- What the parser logs in the worker is collected and logged again here, under the same logger
  names and levels, through this process's handlers (and their redaction).
- A parse that runs longer than :func:`deadline` is stopped: its worker is killed (lexbor's C loop
  never returns to Python, so nothing short of that stops it; a deeply nested page makes it
  quadratic: 1.8 MB of nested ``<div>`` take minutes) and the page fails with a ParseError that
  says so. A worker that dies (a crash in the HTML parser, the OOM killer) fails only the page it
  was parsing. Either way the pages waiting in the pool are not lost: a fresh worker parses them.
  A worker whose parent died exits too (:mod:`monitor.workerlife`).
- A page stopped at the deadline, or whose worker died, is remembered (:mod:`sources.stalls`): the
  same bytes again fail at once, without a worker, until the page changes.
- ``LEAKMON_PARSE_WORKERS``: how many worker processes (default: the cores but one, 1 to 4);
  ``0`` parses in this process, as :func:`sources.common.off_loop` does (and without a deadline).
- ``LEAKMON_PARSE_TIMEOUT``: the deadline of one page's parse, in seconds (default 30).
"""

from __future__ import annotations

import asyncio
import atexit
import importlib
import logging
import os
import signal
from typing import TYPE_CHECKING, Any, TypeVar

from monitor.errors import ParseError
from sources.common import off_loop
from sources.stalls import StalledPages

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from pebble import ProcessPool

    from monitor.fetch import Page

__all__ = ["POOL_BYTES", "deadline", "in_worker", "shutdown", "warm", "workers"]

#: Pages at least this big are parsed in a worker process: 8 KB of listing take ~2 ms to parse
#: (a 40-row forum listing ~20 KB, ~5 ms), the round trip to the worker ~0.3 ms.
POOL_BYTES = 8 * 1024
WORKERS_ENV = "LEAKMON_PARSE_WORKERS"
TIMEOUT_ENV = "LEAKMON_PARSE_TIMEOUT"
#: The slowest honest page we know, an 8 MB MyBB listing of 25,000 rows, parses in ~5 s (a 9 MB
#: t.me preview ~2 s); a hostile page that nests deeply takes minutes to hours (quadratic).
#: ``python bench/bench_parse_deadline.py`` measures both.
DEFAULT_TIMEOUT = 30.0

log = logging.getLogger("sources")
_T = TypeVar("_T")
_pool: ProcessPool | None = None
_bad_timeouts: set[str] = set()              # values of LEAKMON_PARSE_TIMEOUT already warned about
_records: list[dict[str, Any]] = []          # in a worker: what the current parse logged
_stalled = StalledPages()                    # pages not to be given to a worker again


def workers() -> int:
    """How many worker processes parse pages (0: none, parse in this process)."""
    value = os.environ.get(WORKERS_ENV, "").strip()
    if value.isdigit():
        return min(int(value), 32)
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def deadline() -> float:
    """How many seconds one page's parse may take in a worker (``LEAKMON_PARSE_TIMEOUT``)."""
    value = os.environ.get(TIMEOUT_ENV, "").strip()
    if not value:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if 0 < seconds < float("inf"):
        return seconds
    if value not in _bad_timeouts:
        _bad_timeouts.add(value)
        log.warning("%s=%r is not a number of seconds above 0: the default, %gs, is used",
                    TIMEOUT_ENV, value, DEFAULT_TIMEOUT)
    return DEFAULT_TIMEOUT


async def in_worker(page: Page, parse: Callable[..., _T], *args: Any) -> _T:
    """``parse(page, *args)`` in a worker process when the page is big (see the module doc);
    otherwise as :func:`sources.common.off_loop` does. ``parse`` must be pure and importable.

    Raises ParseError when the parse takes longer than :func:`deadline` or its worker dies, and
    at once when the same page did so before."""
    if len(page.body) < POOL_BYTES or workers() == 0:
        return await off_loop(page, parse, *args)
    refusal = _stalled.refusal(page.body)
    if refusal is not None:
        raise ParseError(refusal)
    from pebble import ProcessExpired  # not imported by a run that never needs it

    limit = deadline()
    # Cancelling the await (the poll's own deadline) cancels the task: pebble then stops its worker.
    # That page is not remembered: the poll's deadline counts its fetches too.
    future = _get_pool().schedule(_run, args=(parse, page, args), timeout=limit)
    try:
        ok, value, records = await asyncio.wrap_future(future)
    except TimeoutError:
        _stalled.remember(page.body, f"this page stalled the parser before (over {limit:g}s): "
                                     "not parsed again until it changes")
        raise ParseError(f"parsing this page took over {limit:g}s: stopped (hostile or broken markup?)") from None
    except ProcessExpired:
        # lexbor is deterministic: a page that crashed it crashes it again, and each crash costs a
        # fresh worker (a page that grows it to the OOM killer puts other processes at risk too).
        _stalled.remember(page.body, "this page killed the parser process before: not parsed again until it changes")
        raise ParseError("the parser process died on this page") from None
    for fields in records:
        logger = logging.getLogger(fields["name"])
        if logger.isEnabledFor(fields["levelno"]):
            logger.handle(logging.makeLogRecord(fields))
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def warm(modules: Sequence[str] = ()) -> None:
    """Start the worker processes now and import ``modules`` (the parse functions' own) in them,
    for pages that are sure to come: the workers' start-up then runs beside this process's, not in
    front of the first page. Nothing when pages are parsed in this process."""
    if workers() == 0:
        return
    pool = _get_pool()
    for _ in range(workers()):          # one each: the pool starts every worker at its first task
        pool.schedule(_preload, args=(tuple(modules),))


def shutdown() -> None:
    """Stop the worker processes (a later big page starts new ones)."""
    global _pool
    pool, _pool = _pool, None
    atexit.unregister(shutdown)
    if pool is not None:
        pool.stop()  # type: ignore[no-untyped-call]  # a worker stuck in a parse is killed, not waited for
        pool.join()


def _get_pool() -> ProcessPool:
    global _pool
    if _pool is None:
        import multiprocessing

        from pebble import ProcessPool

        # spawn, not fork: this process has threads (the store's, the executors'), and a fork
        # would copy their locks in whatever state they are.
        _pool = ProcessPool(max(1, workers()), context=multiprocessing.get_context("spawn"),
                            initializer=_start_worker)
        atexit.register(shutdown)     # stopped while the interpreter is whole, not at its teardown
    return _pool


# ---------------------------------------------------------------- in the worker

class _Collect(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        fields = dict(record.__dict__)
        fields.update(msg=record.getMessage(), args=None, exc_info=None, exc_text=None, stack_info=None)
        _records.append(fields)


def _start_worker() -> None:
    from monitor.workerlife import exit_with_parent  # multiprocessing: in the worker, not at every start

    exit_with_parent()
    # A stuck parse never gets back to Python, so the Python-level SIGTERM handler pebble installs
    # would never run: the default action ends the worker at once when it is stopped.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(_Collect())
    root.setLevel(logging.DEBUG)        # this process decides what it shows


def _preload(modules: tuple[str, ...]) -> None:
    for name in modules:
        importlib.import_module(name)


def _run(parse: Callable[..., _T], page: Page, args: tuple[Any, ...]) -> tuple[bool, Any, list[dict[str, Any]]]:
    _records.clear()
    try:
        return True, parse(page, *args), list(_records)
    except Exception as exc:  # noqa: BLE001 - given back to the caller, who raises it
        return False, exc, list(_records)
