"""What ``leakmon scan`` does not import: it is timed against grep, and each of these costs
~10-50 ms of start-up for nothing it uses (the event loop, the tables of `status`, the phone and ID
finders of triage)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_PROBE = """
import sys
from monitor.cli import main
try:
    main(["--config", sys.argv[1], "scan", sys.argv[2]])
except SystemExit:
    pass
print("MODULES", " ".join(sorted(m for m in ("asyncio", "tabulate", "phonenumbers", "monitor.triage",
                                             "monitor.privacy", "httpx") if m in sys.modules)))
"""


def test_scan_leaves_the_event_loop_and_the_hit_machinery_unimported(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[watch]]\nname = "CHU de Rennes"\nterms = ["CHU de Rennes"]\n', encoding="utf-8")
    dump = tmp_path / "dump.txt"
    dump.write_text("patients du CHU de Rennes\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", _PROBE, str(config), str(dump)], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT), "LEAKMON_CACHE_DIR": str(tmp_path)},
                          check=True)
    assert "CHU de Rennes" in done.stdout          # the scan ran and found the name
    assert done.stdout.split("MODULES", 1)[1].split() == []
