"""Matching a retro-hunt's batches of posts: in a thread, or for a long hunt in worker processes.

Matching a post and preparing what its hits store (triage, masked snippets) is pure Python and
holds the GIL: in one process a hunt uses one core. A hunt over :data:`POOL_MIN_POSTS` posts or
more, on a machine with :data:`MIN_CPUS` usable cores or more, matches its batches in up to
:data:`MAX_WORKERS` worker processes (one core fewer than usable). On Linux they are forked
and share the parent's compiled watch list (copy-on-write: nothing to load); they only match and
prepare, touching neither the database nor the parent's threads, and leave signals to the parent.
Elsewhere they are spawned and compile the list once each (from the list cache the parent's own
build has just written). The parent keeps reading posts and storing hits, in the order of the
batches, so what is stored does not depend on the workers (with a single worker the parent also
matches every :data:`PARENT_SHARE`-th batch itself: it would otherwise wait on the worker). If
the pool breaks (a worker killed), the batches not done are matched in the parent.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from monitor.batchmatch import match_many
from monitor.config import WatchEntry
from monitor.hitprep import Prepared, prepare
from monitor.match import Matcher
from monitor.records import Hit, PostRow
from monitor.workerlife import exit_with_parent

log = logging.getLogger("monitor.retrohunt")

POOL_MIN_POSTS = 20_000        # a shorter hunt is over before the workers would have compiled the list
MAX_WORKERS = 4
MIN_CPUS = 2                   # one usable core: matched in a thread of the parent
PARENT_SHARE = 4               # with one worker, every 4th batch is matched in the parent

Found = dict[tuple[str, str], list[Hit]]
Matched = tuple[Found, dict[tuple[str, str], Prepared]]

_worker_matcher: Matcher | None = None      # in a worker process: its own compiled list


def match_batch(matcher: Matcher, batch: Sequence[PostRow]) -> Matched:
    """The hits of a batch of posts (``(pk, source, item_id, title, text)`` rows) by (source,
    item_id), and the triage and snippets of each post that hits (computed here, outside the
    store's write transaction; the store checks that the post is still what they were computed from)."""
    # One fold and one automaton pass for the whole batch (monitor.batchmatch), same hits.
    found: Found = {}
    prepared: dict[tuple[str, str], Prepared] = {}
    for (_pk, source, item_id, title, text), hits in zip(
            batch, match_many(matcher, [(row[3] or "", row[4]) for row in batch])):
        if hits:
            found[(source, item_id)] = hits
            prepared[(source, item_id)] = prepare(title, text, hits)
    return found, prepared


def _start_worker(matcher: Matcher | None, watches: list[WatchEntry]) -> None:
    global _worker_matcher
    # Ctrl-C and stop signals are the parent's to handle: it stops the pool. (A forked worker
    # would otherwise run the parent's handlers and write to its event loop's wake-up pipe.)
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    exit_with_parent()
    _worker_matcher = matcher if matcher is not None else Matcher(watches)


# A worker's answer comes back as plain tuples: unpickling 60,000 Hit dataclasses, the triages
# and the Prepared posts cost the parent ~0.8 s of CPU for 100,000 posts, the tuples ~0.25 s.
Wire = list[tuple[tuple[str, str], list[tuple[str, tuple[str, ...], str, int, int, bool]], str, str,
                  tuple[int | None, dict[str, int], tuple[str, ...], bool], list[str]]]


def to_wire(matched: Matched) -> Wire:
    """A batch's hits and prepared posts as plain tuples (see :func:`from_wire`)."""
    found, prepared = matched
    wire: Wire = []
    for key, hits in found.items():
        ready = prepared[key]
        triage = ready.triage
        wire.append((key, [(h.watch, h.terms, h.field, h.start, h.end, h.lookalike) for h in hits],
                     ready.title, ready.text, (triage.records, dict(triage.seen), triage.claimed, triage.capped),
                     [ready.snippets[h] for h in hits]))
    return wire


def from_wire(wire: Wire) -> Matched:
    """What :func:`to_wire` was given, rebuilt (equal hits, triages, snippets)."""
    from monitor.triage import Triage

    found: Found = {}
    prepared: dict[tuple[str, str], Prepared] = {}
    for key, fields, title, text, (records, seen, claimed, capped), snippets in wire:
        hits = [Hit(*values) for values in fields]
        found[key] = hits
        prepared[key] = Prepared(title, text, Triage(records, seen, claimed, capped), dict(zip(hits, snippets)))
    return found, prepared


def _match_in_worker(batch: list[PostRow]) -> Wire:
    assert _worker_matcher is not None, "worker not started"
    return to_wire(match_batch(_worker_matcher, batch))


def pool_size(posts: int) -> int:
    """How many worker processes a hunt over ``posts`` posts uses (0: none, match in a thread)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    # The parent reads posts, sends them as plain rows and stores the hits (~40 % of the CPU of
    # a hunt); one worker matches and prepares the rest. On 2 cores (load average ~1.5) one worker
    # took a 100,000-post hunt from ~21 s to ~17.5 s; two workers on 2 cores: 21-23 s.
    return 0 if posts < POOL_MIN_POSTS or cpus < MIN_CPUS else min(cpus - 1, MAX_WORKERS)


class Matching:
    """Where the batches are matched: ``submit(batch)`` starts one, ``result(batch, future)`` waits
    for it. ``workers`` 0 matches in a thread of the parent."""

    def __init__(self, matcher: Matcher, watches: Sequence[WatchEntry], workers: int) -> None:
        self._matcher = matcher
        self._pool: ProcessPoolExecutor | None = None
        if workers > 0:
            # A forked worker is handed the compiled list itself; a spawned one gets the entries.
            fork = sys.platform == "linux"
            context = multiprocessing.get_context("fork" if fork else "spawn")
            start = (matcher, []) if fork else (None, list(watches))
            self._pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=start)
        self.workers = workers
        # With one worker, the parent (reading, storing: ~40 % of the CPU of a hunt) would wait on
        # it about half the time: it matches every PARENT_SHARE-th batch itself.
        self._share = PARENT_SHARE if workers == 1 else 0
        self._submitted = 0

    def _in_thread(self, batch: list[PostRow]) -> asyncio.Future[Matched | Wire]:
        return asyncio.get_running_loop().run_in_executor(None, match_batch, self._matcher, batch)

    def _broken(self, exc: BaseException) -> None:
        log.warning("retro-hunt: worker processes failed (%s); matching in this process", exc)
        self.close()

    def submit(self, batch: list[PostRow]) -> asyncio.Future[Matched | Wire]:
        """Start matching ``batch``."""
        self._submitted += 1
        if self._pool is not None and not (self._share and self._submitted % self._share == 0):
            try:
                return asyncio.get_running_loop().run_in_executor(self._pool, _match_in_worker, batch)
            except BrokenProcessPool as exc:
                self._broken(exc)
        return self._in_thread(batch)

    async def result(self, batch: list[PostRow], future: asyncio.Future[Matched | Wire]) -> Matched:
        """What ``submit(batch)`` computed (matched again here if the worker pool broke meanwhile)."""
        try:
            done = await future
        except BrokenProcessPool as exc:
            if self._pool is not None:
                self._broken(exc)
            done = await self._in_thread(batch)
        # A worker's answer comes as plain tuples; the parent's own as the objects themselves.
        return done if isinstance(done, tuple) else from_wire(done)

    def close(self) -> None:
        """Stop the workers (batches not started are dropped)."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.shutdown(wait=True, cancel_futures=True)
