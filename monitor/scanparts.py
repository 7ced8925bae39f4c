"""Scanning a big file on several cores: its parts in forked processes, the output of one pass.

The file is cut at separators (a newline when there is one near) into parts of about the same
size. This process scans the first part and prints its hits as it finds them; a forked process
scans each other part into temporary files, printed after the parts before it, in file order.
Each part is read with some text around it (:class:`Part`), so that what the automaton sees
near a cut is what it would see in one pass (see :mod:`monitor.scanstream`): the hits, their
line numbers and contexts are those of one pass. ``exclude`` and ``requires`` keep their
whole-file meaning: each part sends back what it saw of the entries that have them, and
their hits are decided when every part is done.

- A part whose process fails (killed, out of memory) is scanned again here: nothing is lost,
  the scan only takes longer.
- stdin cannot be cut: ``scan -`` runs in one process.
- ``LEAKMON_SCAN_WORKERS``: how many processes (default: 2 on a machine of 2 cores or more;
  ``1``: one). Each part's process adds ~75 MB with 100,000 names (its working set, and the pages
  of the shared list that it writes to: CPython reuses the free slots of those pages for new
  objects), so the default keeps two processes within 300 MB; more cores need more memory.
- One limit, as with windows: a regex match that crosses a cut may be followed by a match
  that one pass (``finditer``, matches that do not overlap) would not give.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from monitor.scansink import Sink
    from monitor.scanstream import StreamScanner

__all__ = ["MIN_PART", "Part", "plan", "scan_parts", "workers"]

WORKERS_ENV = "LEAKMON_SCAN_WORKERS"
#: A file is cut only into parts of at least this many bytes: a fork of a process that holds
#: 100,000 compiled names costs ~10 ms, a part of 16 MB takes ~0.5 s to scan.
MIN_PART = 16 << 20
#: Bytes read before a part's own start: the context (80 characters) and regex lookbehind
#: (``CONTEXT`` characters) of its first hits.
LEAD = 4096
#: Bytes read after a part's own end: an occurrence that starts in the part ends there (as a
#: window's ``RESERVE`` of 65,536 characters would).
TAIL = 1 << 20
#: How far from a planned cut a separator is looked for.
_LOOK = 1 << 20
# The separators a window may start after (monitor.scanstream._CUT), as bytes: ASCII, so a cut
# after one never splits a UTF-8 character.
_CUT = re.compile(rb"[\t\n\r !-'*-/:-@\\^-`|~]")


@dataclass(frozen=True)
class Part:
    """Byte offsets of one part: it owns ``[own_start, own_end)``, reads ``[lead, read_end)``."""

    lead: int
    own_start: int
    own_end: int
    read_end: int


def workers() -> int:
    """How many processes scan a big file (1: this one only)."""
    value = os.environ.get(WORKERS_ENV, "").strip()
    if value.isdigit():
        return max(1, min(int(value), 32))
    return max(1, min(2, os.cpu_count() or 1))


def plan(path: str, parts: int | None = None, min_part: int | None = None) -> list[Part] | None:
    """The parts of a file, or None when it is scanned in one piece (small, or no separator near
    where it would be cut)."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return None          # the scan reports it, as for one piece
    wanted = min(parts or workers(), size // max(1, min_part or MIN_PART))
    if wanted < 2:
        return None
    cuts: list[tuple[int, int]] = []          # (cut, lead)
    with open(path, "rb") as handle:
        for i in range(1, wanted):
            cut = _separator_after(handle, size * i // wanted, newline=True)
            if cut is None or cut >= size or (cuts and cut <= cuts[-1][0] + LEAD):
                continue
            lead = _separator_before(handle, max(0, cut - LEAD))
            if lead is None or (cuts and lead < cuts[-1][0]):
                continue
            cuts.append((cut, lead))
        ends = [_separator_after(handle, min(size, cut + TAIL), newline=False) for cut, _lead in cuts]
    if not cuts or None in ends:
        return None
    starts = [0] + [cut for cut, _lead in cuts]
    leads = [0] + [lead for _cut, lead in cuts]
    owns = [cut for cut, _lead in cuts] + [size]
    reads = [min(size, end) for end in ends if end is not None] + [size]
    return [Part(leads[i], starts[i], owns[i], reads[i]) for i in range(len(starts))]


def _separator_after(handle: IO[bytes], at: int, newline: bool) -> int | None:
    """The offset just after the first separator at or after ``at`` (a newline preferred)."""
    handle.seek(at)
    data = handle.read(_LOOK)
    if not data:
        return at             # the end of the file
    if newline and (found := data.find(b"\n")) >= 0:
        return at + found + 1
    m = _CUT.search(data)
    return None if m is None else at + m.start() + 1


def _separator_before(handle: IO[bytes], at: int) -> int | None:
    """The offset just after the last separator before ``at`` (or 0 at the file's start)."""
    if at == 0:
        return 0
    start = max(0, at - _LOOK)
    handle.seek(start)
    data = handle.read(at - start)
    # A space or newline is near in any text: found from the end in C. Other separators are
    # looked for only in a stretch without either (not by walking every separator of 1 MB).
    found = max(data.rfind(b"\n"), data.rfind(b" "))
    last = None
    for m in _CUT.finditer(data, found + 1):
        last = m.start()
    if last is None and found >= 0:
        last = found
    if last is not None:
        return start + last + 1
    return 0 if start == 0 else None


# ---------------------------------------------------------------- running the parts

def scan_parts(parts: list[Part], run: Callable[..., StreamScanner], make_sink: Callable[..., Sink],
               out: IO[str], progress: Callable[[int, int | None], None] | None) -> int:
    """Scan the parts (the first here, the others in forked processes); print the hits in file order.

    ``run(part, sink, progress)`` scans one part into a sink and returns its scanner;
    ``make_sink(out, spill)`` makes a sink. Returns how many hits were printed.
    """
    import multiprocessing

    context = multiprocessing.get_context("fork")
    size = parts[-1].own_end
    done = context.RawArray("q", len(parts))      # bytes read by each part, for the progress line
    children: list[_Child] = []
    try:
        for index, part in enumerate(parts[1:], start=1):
            children.append(_Child.start(context, index, part, run, make_sink, done))

        def own_progress(read: int, _total: int | None) -> None:
            done[0] = read
            if progress is not None:
                progress(min(sum(done), size - 1), size)

        sink = make_sink(out, None)
        try:
            scanner = run(parts[0], sink, own_progress)
            results = [child.result(progress, done, size) for child in children]
            for child, result in zip(children, results, strict=True):
                if result is None:      # the process failed: this part is scanned here
                    child.reset()
                    again = make_sink(child.plain, child.spill)
                    result = _Result.of(run(child.part, again, None), again)
                child.outcome = result
                scanner.merge_states(result.states)
            count = sink.count + sink.settle(scanner.fires, out)
        finally:
            sink.close()
        for child in children:
            result = child.outcome
            assert result is not None
            child.plain.flush()
            child.plain.seek(0)
            while text := child.plain.read(1 << 20):
                out.write(text)
            replay = make_sink(child.plain, child.spill)
            replay.conditional, replay.spilling = sink.conditional, result.spilling
            count += result.count + replay.settle(scanner.fires, out)
        if progress is not None:
            progress(size, size)
        return count
    finally:
        for child in children:
            child.close()


@dataclass
class _Result:
    count: int                                   # lines in the part's plain file
    spilling: bool                               # whether it spilled hits to decide at the end
    states: dict[int, tuple[bool, bool, frozenset[int]]]

    @classmethod
    def of(cls, scanner: StreamScanner, sink: Sink) -> _Result:
        return cls(sink.count, sink.spilling, scanner.conditional_states())


class _Child:
    """One part scanned in a forked process, into two temporary files of this process."""

    def __init__(self, part: Part) -> None:
        self.part = part
        self.plain: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115
        self.spill: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115
        self.process: Any = None
        self.pipe: Any = None
        self.outcome: _Result | None = None

    @classmethod
    def start(cls, context: Any, index: int, part: Part, run: Callable[..., StreamScanner],
              make_sink: Callable[..., Sink], done: Any) -> _Child:
        child = cls(part)
        receive, send = context.Pipe(duplex=False)
        child.pipe = receive
        child.process = context.Process(target=_child_main, name=f"leakmon-scan-{index}", daemon=True,
                                        args=(child, index, run, make_sink, done, send))
        child.process.start()
        send.close()
        return child

    def result(self, progress: Callable[[int, int | None], None] | None, done: Any, size: int) -> _Result | None:
        """Wait for the process (drawing the progress line meanwhile); its result, or None if it failed."""
        try:
            while not self.pipe.poll(0.2):
                if progress is not None:
                    progress(min(sum(done), size - 1), size)
            message = self.pipe.recv()
        except (EOFError, OSError):
            message = None
        self.process.join()
        return message if isinstance(message, _Result) and self.process.exitcode == 0 else None

    def reset(self) -> None:
        """Empty both files (what a failed process left there)."""
        for handle in (self.plain, self.spill):
            handle.seek(0)
            handle.truncate()

    def close(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.plain.close()
        self.spill.close()


def _child_main(child: _Child, index: int, run: Callable[..., StreamScanner], make_sink: Callable[..., Sink],
                done: Any, send: Any) -> None:
    """In the forked process: scan one part, send the result back (nothing goes to stdout)."""
    import signal

    from monitor.workerlife import exit_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)      # Ctrl-C is the parent's to handle
    exit_with_parent()

    def progress(read: int, _total: int | None) -> None:
        done[index] = read

    try:
        sink = make_sink(child.plain, child.spill)
        result = _Result.of(run(child.part, sink, progress), sink)
        child.plain.flush()
        child.spill.flush()
        send.send(result)
    except BaseException:  # noqa: BLE001 - the parent scans the part again and reports any error itself
        os._exit(1)
