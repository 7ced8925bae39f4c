"""Scan memory: ``leakmon scan`` of a 2 GB (or 10 GB) file stays under 300 MB of peak RSS.

    python bench/bench_scan_memory.py [--gb 2] [--gb 10] [--stdin]

Writes the file by repeating bench/data/corpus.txt (40 MB of forum lines with planted names;
``bench/gen_names.py``) in a temporary directory next to bench/data, runs ``leakmon scan`` on it
with the 100,000-name ``[[watch_file]]`` (compiled list cached beforehand), and prints MB/s and
the peak RSS of the process (its own rusage: what the scan allocates; a file is read, not
memory-mapped) and the peak PSS of the process and the processes it forks to scan parts of a big
file (sampled; their shared pages counted once): the goal is on the larger of the two. The hits must be the corpus's hits times the number of copies. The generated
file is deleted afterwards. The anchor (same run) is ``wc -l`` of the same file: the speed of
just reading it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import DATA, bench_env, leakmon_cmd, result, watch_file_toml

LIMIT_MB = 300


def tree_pss_kb(pid: int) -> int:
    """Proportional set size of a process and its descendants, in KB (pages shared between them,
    as a forked part's copy of the compiled list, counted once in all)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
            todo.extend(int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split())
        except (OSError, ValueError):
            continue
    return total


def run_counted(cmd: list[str], env: dict[str, str],
                stdin_path: Path | None = None) -> tuple[float, float, int, float]:
    """(seconds, peak RSS MB, output lines, peak PSS MB) of one command: the peak RSS from its own
    rusage (os.wait4: the largest of the process and the part processes it forked), the peak PSS
    sampled every 50 ms over the process and its children (all the memory of the scan)."""
    import threading

    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL  # noqa: SIM115
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    peak_pss = [0]
    running = threading.Event()

    def sample() -> None:
        while not running.wait(0.05):
            peak_pss[0] = max(peak_pss[0], tree_pss_kb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    lines = 0
    for block in iter(lambda: proc.stdout.read(1 << 20), b""):     # type: ignore[union-attr]
        lines += block.count(b"\n")
    running.set()
    sampler.join()
    _pid, _status, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    if stdin_path:
        stdin.close()     # type: ignore[union-attr]
    return time.perf_counter() - start, usage.ru_maxrss / 1024, lines, peak_pss[0] / 1024


def main() -> None:
    """Generate, scan, report, delete."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", type=float, action="append", help="file sizes in GB (default: 2)")
    parser.add_argument("--stdin", action="store_true", help="also scan the largest file through stdin")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    sizes = args.gb or [2.0]
    csv_path, corpus = args.data / "establishments.csv", args.data / "corpus.txt"
    if not corpus.exists():
        raise SystemExit(f"{corpus} is missing: run bench/gen_names.py first")
    tmp = Path(tempfile.mkdtemp(prefix="leakmon-bench-scanmem-", dir=args.data.parent))
    figures = []
    try:
        config = tmp / "config.toml"
        config.write_text(watch_file_toml(csv_path), encoding="utf-8")
        env = bench_env(tmp / "cache")
        scan = [*leakmon_cmd(), "-q", "--config", str(config), "scan"]
        _s, _p, per_copy, _pss = run_counted([*scan, str(corpus)], env)        # also compiles and caches the list
        block = corpus.read_bytes()
        for gb in sizes:
            copies = max(1, round(gb * 1e9 / len(block)))
            big = tmp / f"dump-{gb:g}GB.txt"
            with big.open("wb") as handle:
                for _ in range(copies):
                    handle.write(block)
            size_mb = big.stat().st_size / 1e6
            t0 = time.perf_counter()
            subprocess.run(["wc", "-l", str(big)], stdout=subprocess.DEVNULL, check=True)
            wc_s = time.perf_counter() - t0
            seconds, rss, hits, pss = run_counted([*scan, str(big)], env)
            peak = max(rss, pss)
            print(f"{size_mb:,.0f} MB file: leakmon scan {seconds:7.1f} s  {size_mb / seconds:6.1f} MB/s  "
                  f"peak RSS {rss:6.1f} MB, all processes (PSS) {pss:6.1f} MB (goal < {LIMIT_MB})  "
                  f"hits {hits:,} (expected {per_copy * copies:,})  | anchor wc -l {wc_s:5.1f} s")
            figures.append((size_mb, seconds, peak, hits == per_copy * copies))
            if args.stdin and gb == max(sizes):
                seconds, rss, hits, pss = run_counted([*scan, "-"], env, stdin_path=big)
                peak = max(rss, pss)
                print(f"{size_mb:,.0f} MB through stdin: {seconds:7.1f} s  {size_mb / seconds:6.1f} MB/s  "
                      f"peak RSS {rss:6.1f} MB, PSS {pss:6.1f} MB  hits {hits:,}")
                figures.append((size_mb, seconds, peak, hits == per_copy * copies))
            big.unlink()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    worst = max(f[2] for f in figures)
    result("scan memory", peak_mb=round(worst, 1), anchor_mb=LIMIT_MB, ratio=round(worst / LIMIT_MB, 2),
           files=[{"mb": round(f[0]), "s": round(f[1], 1), "mbs": round(f[0] / f[1], 1), "peak_mb": round(f[2], 1),
                   "hits_ok": f[3]} for f in figures],
           goal=f"< {LIMIT_MB} MB", held=worst < LIMIT_MB and all(f[3] for f in figures))


if __name__ == "__main__":
    main()
