"""Benchmark: ``leakmon scan``'s matcher against ``LC_ALL=C grep -F -i -w -f`` on the same data.

Needs the data of ``bench/gen_names.py`` (100,000 names, a 40 MB corpus)::

    python bench/gen_names.py --rows 100000 --mb 40
    python bench/bench_scan.py

Both sides run end to end: grep reads its pattern file and the corpus; the matcher loads the
CSV through the real config loader (a ``[[watch_file]]``), builds the Matcher, reads the file
and scans it. Prints both throughputs in MB/s, their ratio, and how many planted names each
found: grep counts matching lines (one planted name per line at most); for the matcher, a
planted name counts as found when an occurrence of its watch entry lies on its line. grep
misses the accent-folded, upper-cased accented, hyphen-swapped and defanged variants.
Not part of the tests: it takes seconds and measures time.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.config import parse_config  # noqa: E402
from monitor.match import Matcher  # noqa: E402

DATA = Path(__file__).parent / "data"


def run_grep(names: Path, corpus: Path) -> tuple[float, int]:
    """Seconds and matching-line count of ``LC_ALL=C grep -F -i -w -f names corpus -c``."""
    env = {**os.environ, "LC_ALL": "C"}
    start = time.perf_counter()
    done = subprocess.run(["grep", "-F", "-i", "-w", "-f", str(names), str(corpus), "-c"],
                          env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"grep failed: {done.stderr.strip()}")
    return seconds, int(done.stdout.strip() or 0)


def run_matcher(csv_path: Path, corpus: Path) -> dict:
    """Load the watch file, build, read, scan; the timings and what was found per line."""
    t0 = time.perf_counter()
    config = parse_config({"watch_file": [{"path": str(csv_path), "name_column": "name",
                                           "terms_columns": ["name", "alias", "domain"]}]},
                          "bench.toml", csv_path.parent)
    t1 = time.perf_counter()
    matcher = Matcher(config.watches)
    t2 = time.perf_counter()
    text = corpus.read_text(encoding="utf-8")
    t3 = time.perf_counter()
    hits = list(matcher.scan(text))
    t4 = time.perf_counter()
    # line number of each hit, to compare with grep -c and with the planted manifest
    line_starts = [0]
    at = text.find("\n")
    while at >= 0:
        line_starts.append(at + 1)
        at = text.find("\n", at + 1)
    found_on_line: dict[int, set[str]] = {}
    for watch, _term, start, _end in hits:
        found_on_line.setdefault(bisect.bisect_right(line_starts, start) - 1, set()).add(watch)
    return {"load": t1 - t0, "build": t2 - t1, "read": t3 - t2, "scan": t4 - t3, "total": t4 - t0,
            "entries": len(matcher), "hits": len(hits), "lines": len(found_on_line),
            "found_on_line": found_on_line}


def main() -> None:
    """Run both, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    csv_path, names, corpus = args.data / "establishments.csv", args.data / "names.txt", args.data / "corpus.txt"
    for path in (csv_path, names, corpus):
        if not path.exists():
            raise SystemExit(f"{path} is missing: run bench/gen_names.py first")
    manifest = json.loads((args.data / "planted.json").read_text(encoding="utf-8"))
    mb = corpus.stat().st_size / 1e6

    grep_s, grep_lines = run_grep(names, corpus)
    result = run_matcher(csv_path, corpus)

    by_variant: dict[str, list[int]] = {}
    for occ in manifest["occurrences"]:
        hit = occ["watch"] in result["found_on_line"].get(occ["line"], set())
        counts = by_variant.setdefault(occ["variant"], [0, 0])
        counts[0] += hit
        counts[1] += 1
    found = sum(c[0] for c in by_variant.values())

    print(f"data: {mb:.1f} MB, {result['entries']} watch entries, {manifest['planted']} planted names "
          f"on {manifest['lines']} lines")
    print(f"grep -F -i -w (LC_ALL=C): {grep_s:6.2f} s  {mb / grep_s:7.1f} MB/s  "
          f"lines matched: {grep_lines} (planted: {manifest['planted']})")
    print(f"matcher end to end:       {result['total']:6.2f} s  {mb / result['total']:7.1f} MB/s  "
          f"(load CSV {result['load']:.2f} s, build {result['build']:.2f} s, read {result['read']:.2f} s, "
          f"scan {result['scan']:.2f} s = {mb / result['scan']:.1f} MB/s)")
    print(f"matcher: {result['hits']} occurrences on {result['lines']} lines; planted names found "
          f"{found}/{manifest['planted']}: "
          + ", ".join(f"{v} {c[0]}/{c[1]}" for v, c in sorted(by_variant.items())))
    print(f"ratio matcher/grep throughput: {grep_s / result['total']:.2f} (end to end), "
          f"{grep_s / result['scan']:.2f} (scan only)")


if __name__ == "__main__":
    main()
