"""Goal 3: ``leakmon retrohunt`` over 100,000 stored posts (~200 MB) vs ``leakmon scan`` throughput.

    python bench/bench_retrohunt.py [--posts 100000] [--planted 0.05]

Fills a fresh database through the Store API (``save_poll`` in batches of 1,000 items, as
polls write them; posts are ~2 KB of forum lines taken from bench/data/corpus.txt, one post in
20 carrying a planted establishment name; ``--planted 0.01`` or ``0`` for fewer hits), then times the real command
``leakmon retrohunt --days 3650`` with the 100,000-name ``[[watch_file]]`` up to the line where
it reports the hunt done ("retro-hunt: N posts ..."): start-up, config, compiled list (warm
cache), reading every post from SQLite, matching, storing the new hits and queueing their
alerts. Delivering those alerts afterwards is paced by Telegram's rate limits, not by the hunt:
it is not timed (the process is stopped). The anchor is ``leakmon scan`` of corpus.txt with the
same watch list in the same run (warm cache); goal: retro-hunt >= 50 MB/s.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import DATA, bench_env, leakmon_cmd, result, timed, watch_file_toml

BATCH = 1_000
LINES_PER_POST = 9


def fill(db: Path, posts: int, corpus: Path, manifest: dict, seed: int = 3, planted_share: float = 0.05) -> tuple[int, int]:
    """Store ``posts`` posts through Store.save_poll, ``planted_share`` of them with a planted name;
    returns (characters stored, posts with a planted name)."""
    from monitor.records import Item, PollRecord
    from monitor.store import Store

    rng = random.Random(seed)
    lines = corpus.read_text(encoding="utf-8").splitlines()
    planted_lines = sorted({occ["line"] for occ in manifest["occurrences"]})
    planted = set(planted_lines)
    plain = [i for i in range(len(lines)) if i not in planted]
    store = Store(db)
    chars = with_name = 0
    try:
        for first in range(0, posts, BATCH):
            source = f"forum-{first // BATCH % 50}"
            items = []
            for n in range(first, min(first + BATCH, posts)):
                chosen = [lines[rng.choice(plain)] for _ in range(LINES_PER_POST)]
                if rng.random() < planted_share:
                    chosen[rng.randrange(LINES_PER_POST)] = lines[rng.choice(planted_lines)]
                    with_name += 1
                title = " ".join(chosen[0].split()[:8])
                text = "\n".join(chosen)
                chars += len(title) + len(text)
                items.append(Item(source=source, item_id=f"t{n}", url=f"http://forum.example/t{n}", title=title,
                                  text=text, author="anon", date=None))
            poll = PollRecord(source=source, started=datetime.now(UTC), duration=0.1, ok=True,
                              items=len(items))
            store.save_poll(poll, items, {}, {}, failure_threshold=3, health_chats=())
    finally:
        store.close()
    return chars, with_name


def time_retrohunt(config: Path, cache: Path) -> tuple[float, str]:
    """Seconds until ``leakmon retrohunt`` reports the hunt done, and that line."""
    cmd = [*leakmon_cmd(), "-q", "--config", str(config), "retrohunt", "--days", "3650"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=bench_env(cache), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = ""
    for line in proc.stdout:
        if line.startswith("retro-hunt:"):
            break
    seconds = time.perf_counter() - start
    proc.terminate()      # the alerts it queued stay pending in the database: nothing is lost
    proc.wait(timeout=30)
    return seconds, line.strip()


def main() -> None:
    """Fill, scan (anchor), retro-hunt; print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--planted", type=float, default=0.05,
                        help="share of the posts given a planted name (default 0.05: ~63,000 hits in 100,000 posts)")
    args = parser.parse_args()
    csv_path, corpus = args.data / "establishments.csv", args.data / "corpus.txt"
    if not corpus.exists():
        raise SystemExit(f"{corpus} is missing: run bench/gen_names.py first")
    manifest = json.loads((args.data / "planted.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="leakmon-bench-retro-") as tmp:
        db = Path(tmp) / "bench.db"
        cache = Path(tmp) / "cache"
        config = Path(tmp) / "config.toml"
        config.write_text(f'[storage]\npath = "{db}"\n' + watch_file_toml(csv_path), encoding="utf-8")
        t0 = time.perf_counter()
        chars, with_name = fill(db, args.posts, corpus, manifest, planted_share=args.planted)
        fill_s = time.perf_counter() - t0
        mb = chars / 1e6    # characters, ~bytes: the text is nearly all ASCII
        # Anchor, same run: leakmon scan of the corpus (its first run also warms the cache).
        scan_cmd = [*leakmon_cmd(), "-q", "--config", str(config), "scan", str(corpus)]
        timed(scan_cmd, env=bench_env(cache), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        scan_s, _ = timed(scan_cmd, env=bench_env(cache), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        scan_mbs = corpus.stat().st_size / 1e6 / scan_s
        hunt_s, line = time_retrohunt(config, cache)
        db_mb = sum(p.stat().st_size for p in Path(tmp).glob("bench.db*")) / 1e6
    hunt_mbs = mb / hunt_s
    print(f"stored {args.posts} posts, {mb:.0f} MB of title+text ({with_name} with a planted name) in {fill_s:.1f} s "
          f"through Store.save_poll (batches of {BATCH}); database {db_mb:.0f} MB")
    print(f"leakmon scan (anchor, warm): {scan_s:6.2f} s  {scan_mbs:6.1f} MB/s")
    print(f"leakmon retrohunt:           {hunt_s:6.2f} s  {hunt_mbs:6.1f} MB/s (goal >= 50 MB/s)  ratio to scan "
          f"{hunt_mbs / scan_mbs:.2f}   [{line}]")
    result("3 retro-hunt", leakmon_s=round(hunt_s, 2), leakmon_mbs=round(hunt_mbs, 1), anchor_mbs=round(scan_mbs, 1),
           anchor_s=round(scan_s, 2), mb=round(mb, 1), posts=args.posts, ratio=round(hunt_mbs / scan_mbs, 2),
           goal=">= 50 MB/s", held=hunt_mbs >= 50, report=line, planted=args.planted)


if __name__ == "__main__":
    main()
