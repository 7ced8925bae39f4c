"""Capacity of one node: ``leakmon run`` with 2,000 slow sources (1-3 s answers) and 100,000 names.

    python bench/bench_capacity.py [--sources 2000] [--minutes 15] [--interval 300] [--concurrency 64]

A loopback site in its own process serves 3/4 MyBB listings and 1/4 t.me/s pages; every request
waits 1-3 s before its answer (a Tor hidden service's latency) and the site writes the arrival
time of every request to a log. ``leakmon run -vv --log-format json`` polls them all every
``--interval`` seconds with the generated 100,000-name ``[[watch_file]]`` (cached beforehand)
at ``[network] concurrency = --concurrency``.

Schedule lag of a poll = the time its listing request reaches the site minus the time the
scheduler had it due (APScheduler's "Running job ... (scheduled at ...)" line; the poll job is
named after its source). It includes waiting for a network slot, which is what grows when a
node holds too many sources. Also counted: runs the scheduler skipped (a previous run still
going, or missed by more than the grace time), peak RSS (VmHWM, and the sum over the worker
processes too), sources polled per minute.
Goals: lag p95 < 10 s, no poll skipped, peak RSS < 300 MB.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import DATA, bench_env, leakmon_cmd, proc_memory, result, tree_rss, watch_file_toml
from bench.world import SiteProcess, sources_toml

_RUNNING = re.compile(r'Running job "poll:(\S+?) \(.*\(scheduled at ([^)]+)\)')
_SKIPPED = re.compile(r'"poll:(\S+?) .*(skipped|missed)')


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    """Run the node for the given minutes, then report lag, skips, memory and throughput."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--interval", type=float, default=300.0, help="poll interval of every source, seconds")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--delay", default="1,3", help="MIN,MAX seconds before each answer")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    csv_path = args.data / "establishments.csv"
    if not csv_path.exists():
        raise SystemExit(f"{csv_path} is missing: run bench/gen_names.py first")
    low, high = (float(x) for x in args.delay.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="leakmon-bench-capacity-"))
    boards = args.sources * 3 // 4
    site = SiteProcess(boards=boards, channels=args.sources - boards, live=60.0, delay=(low, high),
                       log_path=str(tmp / "arrivals.log"))
    samples: list[tuple[float, int, int, int]] = []
    try:
        cache = tmp / "cache"
        config = tmp / "config.toml"
        config.write_text(
            f'[storage]\npath = "{tmp}/capacity.db"\n[network]\nconcurrency = {args.concurrency}\nhost_delay = "0s"\n'
            f'timeout = "30s"\n' + watch_file_toml(csv_path) + "\n"
            + sources_toml(site, interval=f"{args.interval:g}s"), encoding="utf-8")
        empty = tmp / "empty.txt"
        empty.write_text("")
        subprocess.run([*leakmon_cmd(), "-q", "--config", str(config), "scan", str(empty)], env=bench_env(cache),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)   # compile the list once
        log_path = tmp / "leakmon.log"
        with log_path.open("wb") as log_file:
            run = subprocess.Popen([*leakmon_cmd(), "-vv", "--log-format", "json", "--config", str(config), "run"],
                                   env=bench_env(cache), stdout=subprocess.DEVNULL, stderr=log_file)
            start = time.monotonic()
            end = start + args.minutes * 60
            while time.monotonic() < end and run.poll() is None:
                mem = proc_memory(run.pid)
                if mem:
                    samples.append((time.monotonic() - start, mem.get("VmRSS", 0), mem.get("VmHWM", 0),
                                    tree_rss(run.pid)))
                time.sleep(5)
            crashed = run.poll() is not None
            run.send_signal(signal.SIGTERM)
            try:
                run.wait(timeout=60)
            except subprocess.TimeoutExpired:
                run.kill()
        due: dict[str, list[float]] = defaultdict(list)
        skipped = 0
        for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                message = json.loads(line).get("message", "")
            except ValueError:
                continue
            m = _RUNNING.search(message)
            if m:
                due[m.group(1)].append(datetime.fromisoformat(m.group(2)).timestamp())
            elif _SKIPPED.search(message):
                skipped += 1
        arrivals: dict[str, list[float]] = defaultdict(list)
        for line in (tmp / "arrivals.log").read_text(encoding="utf-8").splitlines():
            at, path = line.split(" ", 1)
            if "?" in path:
                continue            # a deeper page of a channel: not the start of a poll
            name = "board-" + path.rsplit("/", 1)[1] if path.startswith("/board/") else "tg-" + path.rsplit("/", 1)[1]
            arrivals[name].append(float(at))
    finally:
        site.close()
    lags: list[float] = []
    first_round: list[float] = []
    for name, dues in due.items():
        for k, (d, a) in enumerate(zip(dues, arrivals.get(name, []))):
            (first_round if k == 0 else lags).append(a - d)
    polls = sum(len(v) for v in arrivals.values())
    shutil.rmtree(tmp, ignore_errors=True)
    if crashed or not samples:
        raise SystemExit("leakmon run stopped early")
    peak = max(s[2] for s in samples) / 1024
    # The parse worker is a process of its own: the node's memory is the whole tree's.
    tree_peak = max(s[3] for s in samples) / 1024
    per_minute = polls / args.minutes
    every = [*first_round, *lags]
    print(f"{args.sources} sources answering after {low:g}-{high:g} s, every {args.interval:g} s, 100,000 names, "
          f"concurrency {args.concurrency}, {args.minutes:g} min: {polls} polls ({per_minute:.0f} sources polled per minute; "
          f"{args.sources * 60 / args.interval:.0f} due per minute)")
    for label, values in (("all polls", every), ("first round (all due at start)", first_round),
                          ("later rounds", lags)):
        if values:
            print(f"schedule lag, {label:<31} p50 {statistics.median(values):6.1f} s  p95 "
                  f"{percentile(values, 0.95):6.1f} s  max {max(values):6.1f} s  ({len(values)} polls)")
    print(f"runs skipped or missed by the scheduler: {skipped}")
    print(f"peak RSS (VmHWM): {peak:.1f} MB; with the worker processes (largest sample, every 5 s): "
          f"{tree_peak:.1f} MB (goal < 300 MB)")
    p95 = percentile(every, 0.95)
    result("capacity", sources=args.sources, minutes=args.minutes, interval_s=args.interval,
           concurrency=args.concurrency, polls=polls, per_minute=round(per_minute), lag_p95_s=round(p95, 1),
           lag_p95_later_s=round(percentile(lags, 0.95), 1) if lags else None, skipped=skipped,
           peak_mb=round(peak, 1), tree_peak_mb=round(tree_peak, 1),
           goal="lag p95 < 10 s, none skipped, < 300 MB",
           held=p95 < 10 and skipped == 0 and max(peak, tree_peak) < 300)


if __name__ == "__main__":
    main()
