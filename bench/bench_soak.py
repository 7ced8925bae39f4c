"""Goal 4: memory of ``leakmon run`` with 100,000 names and 400 sources polled every few seconds.

    python bench/bench_soak.py [--minutes 3] [--interval 10s] [--sample 5]

Starts a live loopback site in its own process (300 MyBB listings, 100 t.me/s channels; every
listing gains a new thread and every channel a new message each ``--live`` seconds, so polls keep
finding, storing and alerting new items), then ``leakmon run`` with the generated 100,000-name
``[[watch_file]]`` and the 400 sources at ``--interval``, alerts on the console (discarded).
VmRSS and VmHWM are read from /proc/<pid>/status every ``--sample`` seconds. Reports the peak
(VmHWM) and the RSS growth from minute ``--from-minute`` (default 1; the issue's long run uses 2)
to the end. The compiled watch list is cached beforehand (a warm start, the normal case); the
peak of a cold start, which compiles the list, is measured separately on ``leakmon scan`` of an
empty file. Goal: peak < 300 MB, growth < 10 %.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import DATA, bench_env, leakmon_cmd, proc_memory, result, watch_file_toml
from bench.world import SiteProcess, sources_toml


def child_peak_mb(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one command, from its own rusage (os.wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, _status, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def main() -> None:
    """Run the soak and print the memory figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--from-minute", type=float, default=1.0, help="growth is measured from here to the end")
    parser.add_argument("--interval", default="10s", help="poll interval of every source")
    parser.add_argument("--live", type=float, default=10.0, help="seconds between new items on each source")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    csv_path = args.data / "establishments.csv"
    if not csv_path.exists():
        raise SystemExit(f"{csv_path} is missing: run bench/gen_names.py first")
    site = SiteProcess(live=args.live)
    tmp = Path(tempfile.mkdtemp(prefix="leakmon-bench-soak-"))
    try:
        cache = tmp / "cache"
        config = tmp / "config.toml"
        config.write_text(
            f'[storage]\npath = "{tmp}/soak.db"\n[network]\nconcurrency = 8\nhost_delay = "0s"\n'
            '[[watch]]\nname = "Mediboard"\nterms = ["Mediboard", "patients records"]\n'
            + watch_file_toml(csv_path) + "\n" + sources_toml(site, interval=args.interval), encoding="utf-8")
        empty = tmp / "empty.txt"
        empty.write_text("")
        scan = [*leakmon_cmd(), "-q", "--config", str(config), "scan", str(empty)]
        cold_s, cold_peak = child_peak_mb(scan, bench_env(cache))       # compiles and caches the list
        warm_s, warm_peak = child_peak_mb(scan, bench_env(cache))
        run = subprocess.Popen([*leakmon_cmd(), "-q", "--config", str(config), "run"], env=bench_env(cache),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        samples: list[tuple[float, int, int]] = []       # seconds, VmRSS kB, VmHWM kB
        start = time.monotonic()
        end = start + args.minutes * 60
        while time.monotonic() < end and run.poll() is None:
            mem = proc_memory(run.pid)
            if mem:
                samples.append((time.monotonic() - start, mem.get("VmRSS", 0), mem.get("VmHWM", 0)))
            time.sleep(args.sample)
        crashed = run.poll() is not None
        run.send_signal(signal.SIGTERM)
        try:
            _out, err = run.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            run.kill()
            _out, err = run.communicate()
        polls, failed, items = _count_polls(tmp / "soak.db")
    finally:
        site.close()
    shutil.rmtree(tmp, ignore_errors=True)
    if crashed or not samples:
        raise SystemExit(f"leakmon run stopped early: {err.decode(errors='replace')[-800:]}")
    peak = max(s[2] for s in samples) / 1024
    base = next((s for s in samples if s[0] >= args.from_minute * 60), samples[0])
    last = samples[-1]
    growth = (last[1] - base[1]) / base[1] * 100
    print(f"leakmon run, 100,000 names + 400 sources every {args.interval} (new items every {args.live:g} s), "
          f"{args.minutes:g} min: {polls} polls ({failed} failed), {items} items stored; "
          f"RSS sampled every {args.sample:g} s")
    for t, rss, hwm in samples[:: max(1, len(samples) // 12)] + [samples[-1]]:
        print(f"  t={t:6.0f} s  VmRSS {rss / 1024:6.1f} MB  VmHWM {hwm / 1024:6.1f} MB")
    print(f"peak RSS (VmHWM):  {peak:6.1f} MB   (goal < 300 MB)")
    print(f"RSS growth from t={base[0]:.0f} s to t={last[0]:.0f} s: {growth:+.1f} %  "
          f"({base[1] / 1024:.1f} -> {last[1] / 1024:.1f} MB; goal < 10 %)")
    print(f"start-up peak with the watch list compiled (cold cache): {cold_peak:.0f} MB in {cold_s:.1f} s; "
          f"from the cache: {warm_peak:.0f} MB in {warm_s:.1f} s (leakmon scan of an empty file)")
    result("4 memory", leakmon_peak_mb=round(peak, 1), growth_pct=round(growth, 1), anchor_peak_mb=300,
           anchor_growth_pct=10, ratio=round(peak / 300, 2), minutes=args.minutes, from_minute=args.from_minute,
           polls=polls, failed_polls=failed, items=items, cold_start_peak_mb=round(cold_peak), cold_start_s=round(cold_s, 1),
           warm_start_peak_mb=round(warm_peak), goal="< 300 MB, < 10 %", held=peak < 300 and growth < 10 and cold_peak < 300)


def _count_polls(db: Path) -> tuple[int, int, int]:
    """(polls, failed polls, items stored) in the soak's database."""
    import sqlite3

    try:
        with sqlite3.connect(db) as conn:
            polls, failed = conn.execute("SELECT count(*), count(*) - coalesce(sum(ok), 0) FROM polls").fetchone()
            return polls, failed, conn.execute("SELECT count(*) FROM items").fetchone()[0]
    except sqlite3.Error:
        return -1, -1, -1


if __name__ == "__main__":
    main()
