"""`leakmon scan`: match a local file against the watch list; nothing stored or sent.

The file (or stdin) is read and decoded in chunks and matched window by window
(:mod:`monitor.scanstream`), so a 50 GB dump takes the memory of a few chunks, with the hits,
line numbers and contexts of one pass over the whole text.
"""

from __future__ import annotations

import codecs
import csv
import gc
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any

from monitor.config import Config
from monitor.errors import LeakmonError

#: Bytes read at a time.
CHUNK = 4 << 20

_LATIN1_FALLBACK = "leakmon-latin1"


def _latin1_fallback(exc: UnicodeError) -> tuple[str, int]:
    """A byte that is not UTF-8 reads as its Latin-1 character, on its own: the text around it stays UTF-8."""
    if isinstance(exc, UnicodeDecodeError):
        return exc.object[exc.start:exc.end].decode("latin-1"), exc.end
    raise exc


codecs.register_error(_LATIN1_FALLBACK, _latin1_fallback)


def decode(data: bytes) -> str:
    """Bytes as text: UTF-8, each byte that is not part of valid UTF-8 as its Latin-1 character.

    Dumps mix encodings: one stray byte must not turn the accented names of the rest of the
    file into mojibake (and nothing is lost: every byte decodes).
    """
    return data.decode("utf-8", _LATIN1_FALLBACK)


def _open(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        raise LeakmonError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_chunks(path: str, chunk: int = CHUNK,
                progress: Callable[[int, int | None], None] | None = None,
                start: int = 0, end: int | None = None) -> Iterator[str]:
    """The file (or stdin) as text, ``chunk`` bytes at a time, decoded as :func:`decode` would decode
    the whole (a character cut at a chunk's edge is completed by the next chunk).

    ``start``, ``end``: only these bytes of a file (``end`` None: to its end); ``progress`` is
    told the bytes read of that range and the range's size.
    """
    handle = _open(path)
    try:
        try:
            total: int | None = os.fstat(handle.fileno()).st_size if path != "-" else None
        except (OSError, ValueError, AttributeError):
            total = None
        if total == 0:
            total = None          # a pipe or a special file: size unknown
        left = -1                 # bytes of the range still to read (-1: to the end)
        if start or end is not None:
            handle.seek(start)
            left = (end if end is not None else total or 0) - start
            total = left
        decoder = codecs.getincrementaldecoder("utf-8")(_LATIN1_FALLBACK)
        done = 0
        while True:
            try:
                data = handle.read(chunk if left < 0 else min(chunk, left - done))
            except OSError as exc:
                raise LeakmonError(f"cannot read {path}: {exc.strerror or exc}") from None
            done += len(data)
            if progress is not None:
                progress(done, total if data else done)
            if not data:
                tail = decoder.decode(b"", final=True)
                if tail:
                    yield tail
                return
            text = decoder.decode(data)
            if text:
                yield text
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()


def _formatter(path: str, fmt: str) -> Callable[[Any, Any], str]:
    """``render(occurrence, watch)``: one output line of a hit."""
    if fmt == "text":
        # The common case, millions of hits on a big dump: no record dict, one f-string; the hits
        # of one place share their context string, made one line once.
        shown = ["", ""]        # the last context, on one line

        def as_text(o: Any, w: Any) -> str:
            if o.context is not shown[0]:
                shown[0], shown[1] = o.context, " ".join(o.context.split())
            return f"{path}:{o.line}: [{w.name}] {o.match!r}: {shown[1]}\n"
        return as_text
    if fmt == "json":
        return lambda o, w: json.dumps(_record(o, w), ensure_ascii=False) + "\n"

    from monitor.report import safe_cell  # with tabulate (~0.1 s of imports): only for CSV

    class _Line:
        value = ""

        def write(self, text: str) -> None:
            self.value = text

    line = _Line()
    writer = csv.writer(line, lineterminator="\n")

    def as_csv(o: Any, w: Any) -> str:
        writer.writerow([safe_cell(v) for v in _record(o, w).values()])
        return line.value
    return as_csv


def _record(o: Any, w: Any) -> dict[str, Any]:
    return {"line": o.line, "watch": w.name, "term": (w.terms + w.regex)[o.term], "match": o.match,
            "context": o.context}


def scan_file(config: Config, path: str, fmt: str, out: IO[str],
              progress: Callable[[int, int | None], None] | None = None, *, chunk: int = CHUNK,
              matcher: Any = None, parts: int | None = None, min_part: int | None = None, **window: int) -> int:
    """Print every hit of the watch list in the file; returns how many.

    ``progress(bytes_read, total_bytes_or_None)`` is called as the file is read. A big file is
    scanned in ``parts`` (default: the cores, see :mod:`monitor.scanparts`) of at least
    ``min_part`` bytes, with the output of one pass. ``window``: sizes of
    :class:`monitor.scanstream.StreamScanner` (the tests make them tiny).
    """
    from monitor import scanparts
    from monitor.match import Matcher
    from monitor.scansink import Sink
    from monitor.scanstream import StreamScanner, conditional_entries

    if matcher is None:
        # The engine the daemon would pick (hyperscan from 50,000 keys). hyperscan for smaller
        # lists too was measured: ~15 % faster on most text, but up to 70 % slower where the text
        # repeats a word that ends thousands of keys (a city, "chateau"): pyahocorasick's time
        # does not depend on the text.
        matcher = Matcher(config.watches, watches_digest=config.watches_digest())
        # The config and the compiled list (100,000 entries and more) live until the end: out of
        # the garbage collector's sight, its passes during the scan look at new objects only
        # (~0.2 s of a 40 MB scan with 100,000 names went to walking the watch list again and again).
        # Frozen objects also stay shared with the processes forked for the parts of a big file.
        gc.freeze()
    watches = matcher.watches
    render = _formatter(path, fmt)
    if fmt == "csv":
        out.write("line,watch,term,match,context\n")

    conditional = conditional_entries(matcher)

    def run(part: scanparts.Part, sink: Sink, progress: Any) -> Any:
        scanner = StreamScanner(matcher, conditional=conditional, **window)
        sink.conditional = scanner.conditional
        if part.lead < part.own_start:
            scanner.lead(decode(_read_range(path, part.lead, part.own_start)), _newlines(path, part.lead))
        for text in read_chunks(path, chunk, progress, part.own_start, part.own_end):
            sink.emit(scanner.feed(text))
        if part.read_end > part.own_end:
            scanner.stop_owning()
            for text in read_chunks(path, chunk, None, part.own_end, part.read_end):
                sink.emit(scanner.feed(text))
        sink.emit(scanner.finish())
        return scanner

    plan = scanparts.plan(path, parts, min_part) if path != "-" else None
    if plan is not None:
        out.flush()
        return scanparts.scan_parts(plan, run, lambda o, spill: Sink(o, render, watches, spill), out, progress)
    sink = Sink(out, render, watches)
    try:
        scanner = StreamScanner(matcher, conditional=conditional, **window)
        sink.conditional = scanner.conditional
        for text in read_chunks(path, chunk, progress):
            sink.emit(scanner.feed(text))
        sink.emit(scanner.finish())
        return sink.count + sink.settle(scanner.fires, out)
    finally:
        sink.close()


def _read_range(path: str, start: int, end: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(start)
        return handle.read(end - start)


def _newlines(path: str, end: int) -> int:
    """How many newlines the file has before byte ``end``."""
    count = 0
    with open(path, "rb") as handle:
        while end > 0:
            data = handle.read(min(CHUNK, end))
            if not data:
                break
            count += data.count(b"\n")
            end -= len(data)
    return count
