"""What a poll that finds nothing new does not import: the phone and ID finders of triage and
snippets (only once a hit is stored), the retro-hunt and its worker pool (only when the watch list
changed), multiprocessing (only when a page goes to a parse worker). Each is ~10-40 ms at start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_PROBE = """
import sys
import monitor.cli, monitor.usecases, monitor.runtime, monitor.store, monitor.pipeline, monitor.watchprints
import sources.html, sources.telegram, sources.parsepool
print(" ".join(sorted(m for m in ("phonenumbers", "stdnum", "monitor.triage", "monitor.privacy", "monitor.hitprep",
                                  "multiprocessing", "monitor.retrohunt") if m in sys.modules)))
"""


def test_the_poll_path_leaves_the_hit_and_worker_machinery_unimported() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    assert done.stdout.split() == []

