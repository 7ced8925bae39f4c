"""`leakmon scan`: match a local file against the watch list; nothing stored or sent."""

from __future__ import annotations

import bisect
import json
import sys
from typing import IO, Any, Callable

from monitor.config import Config
from monitor.errors import LeakmonError
from monitor.report import safe_cell


def read_text(path: str) -> str:
    """The file (or stdin for "-") as text: UTF-8, else Latin-1 (every byte decodes; nothing is lost)."""
    try:
        data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    except OSError as exc:
        raise LeakmonError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def scan_file(config: Config, path: str, fmt: str, out: IO[str],
              progress: Callable[[int, int], None] | None = None) -> int:
    """Print every hit of the watch list in the file; returns how many.

    ``progress(done, total)`` is called as the scan advances through the text (in characters).
    """
    from monitor.match import Matcher

    text = read_text(path)
    matcher = Matcher(config.watches)
    newlines = [i for i, ch in enumerate(text) if ch == "\n"] if len(text) < 1 << 20 else _newlines(text)
    count = 0
    if fmt == "csv":
        out.write("line,watch,term,match,context\n")
    step = max(len(text) // 100, 1)
    shown = 0
    for watch, term, start, end in matcher.scan(text):
        count += 1
        if progress is not None and start - shown >= step:
            shown = start
            progress(start, len(text))
        line = bisect.bisect_right(newlines, start) + 1
        line_start = newlines[line - 2] + 1 if line >= 2 else 0
        line_end = newlines[line - 1] if line - 1 < len(newlines) else len(text)
        context = text[max(line_start, start - 80): min(line_end, end + 80)].strip()
        record: dict[str, Any] = {"line": line, "watch": watch, "term": term, "match": text[start:end],
                                  "context": context}
        if fmt == "json":
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        elif fmt == "csv":
            import csv

            csv.writer(out, lineterminator="\n").writerow([safe_cell(record[k]) for k in record])
        else:
            out.write(f"{path}:{line}: [{watch}] {record['match']!r}: {' '.join(context.split())}\n")
    if progress is not None:
        progress(len(text), len(text))
    return count


def _newlines(text: str) -> list[int]:
    positions = []
    i = text.find("\n")
    while i != -1:
        positions.append(i)
        i = text.find("\n", i + 1)
    return positions
