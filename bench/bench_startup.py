"""Goal 5: ``leakmon --help`` answers in under 0.3 s (heavy modules are imported by the commands).

    python bench/bench_startup.py [--runs 7]

Times the installed console script (the median of ``--runs`` runs) beside the anchor: a bare
``python -c pass`` of the same interpreter, the floor no Python program starts below. Also
prints the slowest imports of ``monitor.cli`` (``python -X importtime``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import bench_env, leakmon_cmd, result, timed


def median_seconds(cmd: list[str], runs: int) -> float:
    """Median wall-clock seconds of ``runs`` runs (after one unmeasured run that warms the disk cache)."""
    subprocess.run(cmd, env=bench_env(), capture_output=True, check=False)
    return statistics.median(timed(cmd, env=bench_env(), capture_output=True)[0] for _ in range(runs))


def main() -> None:
    """Time both; print the slowest imports."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    help_s = median_seconds([*leakmon_cmd(), "--help"], args.runs)
    bare_s = median_seconds([sys.executable, "-c", "pass"], args.runs)
    imports = subprocess.run([sys.executable, "-X", "importtime", "-c", "import monitor.cli"], env=bench_env(),
                             capture_output=True, text=True, check=False).stderr.splitlines()
    rows = sorted((line.split("|") for line in imports if line.startswith("import time:") and "|" in line
                   and line.split("|")[1].strip().isdigit()), key=lambda cols: -int(cols[1]))
    print(f"{' '.join(leakmon_cmd())} --help (median of {args.runs}): {help_s:6.3f} s   (goal < 0.3 s)")
    print(f"python -c pass (anchor):{'':<{max(0, len(' '.join(leakmon_cmd())) - 16)}}{bare_s:6.3f} s   "
          f"ratio {help_s / bare_s:.1f}")
    print("slowest imports of monitor.cli (cumulative us): "
          + ", ".join(f"{cols[2].strip()} {cols[1].strip()}" for cols in rows[1:6]))
    result("5 start-up", leakmon_s=round(help_s, 3), anchor_s=round(bare_s, 3), ratio=round(help_s / bare_s, 1),
           goal="< 0.3 s", held=help_s < 0.3)


if __name__ == "__main__":
    main()
