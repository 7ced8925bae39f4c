"""Where the hits of a scan go: printed as they are found, or spilled until the whole file decides them."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Any

__all__ = ["Sink"]


class Sink:
    """Where the hits of (a part of) a file go, rendered: printed as they are found, or spilled.

    Entries with ``exclude`` or ``requires`` are decided by the whole file: their hits (and, to
    keep the order of the file, every hit after the first of them) wait in a temporary file
    until the end (:meth:`settle`). Without such entries hits are printed as they are found.
    """

    def __init__(self, out: IO[str], render: Callable[[Any, Any], str], watches: Any,
                 spill: IO[str] | None = None) -> None:
        self.out, self.render, self.watches = out, render, watches
        self.conditional: set[int] | frozenset[int] = frozenset()
        self.count = 0                # lines printed to ``out``
        self.spill = spill            # a spill file given (a part's, kept by the caller) or made here
        self._own_spill = spill is None
        self.spilling = False

    def emit(self, occurrences: Iterator[Any]) -> None:
        """Render the occurrences; print or spill them."""
        # One write per window, not per hit: a dump can have millions of hits.
        lines: list[str] = []
        conditional, render, watches = self.conditional, self.render, self.watches
        for occ in occurrences:
            line = render(occ, watches[occ.entry])
            if not self.spilling and occ.entry in conditional:
                self.out.write("".join(lines))
                self.count += len(lines)
                lines = []
                self.spilling = True
                if self.spill is None:
                    self.spill = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115
            if self.spilling:
                self.spill.write(f"{occ.entry} {len(line)}\n{line}")  # type: ignore[union-attr]
            else:
                lines.append(line)
        if lines:
            self.out.write("".join(lines))
            self.count += len(lines)

    def settle(self, fires: Callable[[int], bool], out: IO[str]) -> int:
        """Print the spilled hits whose entry fires over the whole file; returns how many."""
        spill, count = self.spill, 0
        if not self.spilling or spill is None:
            return 0
        spill.flush()
        spill.seek(0)
        while True:
            header = spill.readline()
            if not header:
                break
            entry, size = map(int, header.split())
            line = spill.read(size)
            if entry not in self.conditional or fires(entry):
                out.write(line)
                count += 1
        return count

    def close(self) -> None:
        """Remove the spill file this sink made."""
        if self.spill is not None and self._own_spill:
            self.spill.close()
