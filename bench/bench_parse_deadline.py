"""The parse deadline's margins: how long lexbor takes on a nesting bomb, and on the biggest honest pages.

    python bench/bench_parse_deadline.py                       # depths 5,000 to 30,000 (~10 s)
    python bench/bench_parse_deadline.py --depths 100000       # 1.8 MB: minutes

A bomb (``<div>`` nested ``depth`` deep, a ``<p>`` in each) grows with the square of its depth; the
honest pages are a 25,000-thread MyBB listing (~8 MB) and a 13,000-post t.me preview (~9 MB), parsed
by the real parse functions. Each is timed in this process (wall and CPU seconds), best and worst of
``--runs``. The default deadline (``LEAKMON_PARSE_TIMEOUT``) should stay well above the honest pages.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import result
from monitor.fetch import Page
from monitor.sourceconfig import SourceConfig
from sources import html, make_options, parsepool, telegram
from sources.common import decode_html
from tests.support.bombs import channel_page, mybb_listing, nesting_bomb

FORUM = "http://forum.example.onion/Forum-Databases"
CHANNEL = "https://t.me/s/leakchan"


def timed(work: Callable[[], object], runs: int) -> tuple[float, float, float]:
    """(best wall, worst wall, best CPU) seconds of ``runs`` calls."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), max(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depths", default="5000,10000,20000,30000")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    for depth in (int(d) for d in args.depths.split(",")):
        body = nesting_bomb(depth)
        best, worst, cpu = timed(lambda: decode_html(body), args.runs)
        print(f"bomb, depth {depth:>7,}: {len(body) / 1024:7.0f} KB  {best:7.2f}-{worst:.2f} s (CPU {cpu:.2f} s)")
    honest = [
        ("MyBB listing, 25,000 threads", Page(FORUM, 200, mybb_listing(25_000, "Mediboard"), {}),
         html.parse_listing, make_options_for("html", FORUM, preset="mybb")),
        ("t.me preview, 13,000 posts", Page(CHANNEL, 200, channel_page("leakchan", 13_000, "Mediboard"), {}),
         telegram.parse_preview, make_options_for("telegram", CHANNEL)),
    ]
    slowest = 0.0
    for name, page, parse, opts in honest:
        best, worst, cpu = timed(lambda: parse(page, opts), args.runs)
        slowest = max(slowest, worst)
        print(f"{name}: {len(page.body) / 1e6:.1f} MB  {best:.2f}-{worst:.2f} s (CPU {cpu:.2f} s)")
    print(f"default deadline {parsepool.DEFAULT_TIMEOUT:g} s = {parsepool.DEFAULT_TIMEOUT / slowest:.1f} x "
          f"the slowest honest page here")
    result("parse_deadline", slowest_honest_s=round(slowest, 2), deadline_s=parsepool.DEFAULT_TIMEOUT)


def make_options_for(kind: str, url: str, **keys: object) -> object:
    """A kind's Options as the config would build them."""
    return make_options(SourceConfig(name="bench", kind=kind, url=url, **keys))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
