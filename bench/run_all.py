"""Run every benchmark of issue 6 and print one table: leakmon beside its anchor, the ratio, the goal.

    python bench/run_all.py                      # 100,000 names, 40 MB, 100,000 posts, 3-minute soak
    python bench/run_all.py --soak-minutes 20 --soak-from 2      # the issue's long soak
    python bench/run_all.py --only scan,startup  # a subset (scan, scanvary, poll, retrohunt, soak, startup, scanmem, capacity)
    python bench/run_all.py --only scanvary --scanvary-big       # scan over varied corpora, 400 MB files too
    python bench/run_all.py --capacity-minutes 15 --scanmem-gb 2,10   # the long ones at full size

Generates bench/data/ first when missing or of other sizes (bench/gen_names.py; git-ignored).
Each benchmark runs in its own process, one after the other, and prints its own details; the
machine should be otherwise idle (2 cores: the numbers move with the load of other work).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, ensure_data

BENCHES = ("scan", "scanvary", "poll", "retrohunt", "soak", "startup", "scanmem", "capacity")


def run(script: str, *args: str) -> dict:
    """Run one benchmark, echo its output, return its RESULT line."""
    print(f"\n=== {script} {' '.join(args)}", flush=True)
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / script), *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    found: dict = {}
    for line in proc.stdout:
        if line.startswith("RESULT "):
            found = json.loads(line[7:])
        else:
            print(line, end="", flush=True)
    if proc.wait() != 0 or not found:
        return {"name": script, "error": f"exit {proc.returncode}"}
    return found


def table(results: list[dict]) -> str:
    """The summary as a Markdown table (pasted into README's Performance section)."""
    lines = ["| goal | leakmon | anchor (same run) | ratio | goal | held |", "|---|---|---|---|---|---|"]
    for r in results:
        name = r.get("name", "?")
        if "error" in r:
            lines.append(f"| {name} | failed: {r['error']} | | | | |")
            continue
        held = "yes" if r.get("held") else "**no**"
        if name == "1 scan":
            row = (f"{r['leakmon_s']} s warm ({r['mb'] / r['leakmon_s']:.1f} MB/s; cold {r['leakmon_cold_s']} s), "
                   f"found {r['found']}/{r['planted']} planted", f"grep {r['anchor_s']} s "
                   f"({r['mb'] / r['anchor_s']:.1f} MB/s), {r['grep_lines']} lines",
                   f"{r['ratio']} (cold {r['ratio_cold']})", "throughput >= 1.0")
        elif name.startswith("2"):
            row = (f"{r['leakmon_s']} s first poll, {r['leakmon_second_s']} s second",
                   f"bare httpx GET {r['anchor_s']} s", f"{r['ratio']} / {r['ratio_second']}", "<= 1.5 / <= 1.1")
        elif name.startswith("3"):
            row = (f"{r['leakmon_s']} s for {r['mb']:.0f} MB ({r['leakmon_mbs']} MB/s)",
                   f"scan {r['anchor_mbs']} MB/s", f"{r['leakmon_mbs'] / 50:.2f} of 50 MB/s", ">= 50 MB/s")
        elif name.startswith("4"):
            row = (f"peak {r['leakmon_peak_mb']} MB, growth {r['growth_pct']:+} % (min {r['from_minute']:g}-"
                   f"{r['minutes']:g}, {r['polls']} polls); cold start {r['cold_start_peak_mb']} MB",
                   "300 MB / 10 %", str(r["ratio"]), "< 300 MB, < 10 %")
        elif name.startswith("1 scan, varied"):
            row = (f"{r['runs']} runs (text shapes x list sizes x file sizes); all planted found: "
                   f"{'yes' if r['all_found'] else 'NO'}", "grep -F -i -w -f, each run",
                   f"worst {r['worst']} ({r['worst_case']}), best {r['best']}", "every ratio >= 1.0")
        elif name == "scan memory":
            files = ", ".join(f"{f['mb'] / 1000:g} GB {f['mbs']} MB/s peak {f['peak_mb']} MB" for f in r["files"])
            row = (files, "300 MB", str(r["ratio"]), "< 300 MB, same hits")
        elif name == "capacity":
            row = (f"{r['sources']} sources every {r['interval_s']:g} s, {r['minutes']:g} min, concurrency "
                   f"{r['concurrency']}: {r['per_minute']} polled/min, lag p95 {r['lag_p95_s']} s (later rounds "
                   f"{r['lag_p95_later_s']} s), {r['skipped']} skipped, peak {r['peak_mb']} MB",
                   "10 s / 0 / 300 MB", "", "lag p95 < 10 s, none skipped, < 300 MB")
        else:
            row = (f"{r['leakmon_s']} s", f"python -c pass {r['anchor_s']} s", str(r["ratio"]), "< 0.3 s")
        lines.append(f"| {name} | " + " | ".join(row) + f" | {held} |")
    return "\n".join(lines)


def main() -> None:
    """Generate the data, run the benchmarks, print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="names in the watch file")
    parser.add_argument("--mb", type=float, default=40.0, help="size of the scanned corpus")
    parser.add_argument("--posts", type=int, default=100_000, help="stored posts for the retro-hunt")
    parser.add_argument("--soak-minutes", type=float, default=3.0)
    parser.add_argument("--soak-from", type=float, default=1.0, help="RSS growth measured from this minute")
    parser.add_argument("--scanmem-gb", default="2", help="sizes of the scan-memory files, GB, comma-separated")
    parser.add_argument("--capacity-minutes", type=float, default=15.0)
    parser.add_argument("--scanvary-big", action="store_true", help="the varied-corpora scan with 400 MB files too")
    parser.add_argument("--only", default=",".join(BENCHES), help=f"comma-separated subset of {', '.join(BENCHES)}")
    args = parser.parse_args()
    chosen = [b.strip() for b in args.only.split(",") if b.strip()]
    unknown = set(chosen) - set(BENCHES)
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    started = time.monotonic()
    ensure_data(args.rows, args.mb)
    results = []
    for bench in BENCHES:
        if bench not in chosen:
            continue
        if bench == "scan":
            results.append(run("bench_scan.py"))
        elif bench == "scanvary":
            results.append(run("bench_scan_vary.py", *(["--big"] if args.scanvary_big else [])))
        elif bench == "poll":
            results.append(run("bench_poll.py"))
        elif bench == "retrohunt":
            results.append(run("bench_retrohunt.py", "--posts", str(args.posts)))
        elif bench == "soak":
            results.append(run("bench_soak.py", "--minutes", str(args.soak_minutes), "--from-minute",
                               str(args.soak_from)))
        elif bench == "scanmem":
            sizes = [x for x in args.scanmem_gb.split(",") if x]
            results.append(run("bench_scan_memory.py", *[a for gb in sizes for a in ("--gb", gb)]))
        elif bench == "capacity":
            results.append(run("bench_capacity.py", "--minutes", str(args.capacity_minutes)))
        else:
            results.append(run("bench_startup.py"))
    print(f"\n=== summary ({time.monotonic() - started:.0f} s)\n")
    print(table(results))


if __name__ == "__main__":
    main()
