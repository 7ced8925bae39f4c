"""Goal 2: `leakmon once` over 400 loopback sources vs a bare concurrent httpx GET of the same pages.

    python bench/bench_poll.py [--names bench/data/names.csv]

Prints both times, the ratio for a first poll (everything new) and a second poll (nothing new).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.world import BenchSite, sources_toml  # noqa: E402

CONCURRENCY = 8


async def bare_get(urls: list[str]) -> float:
    import httpx

    sem = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(trust_env=False) as client:
        async def one(url: str) -> None:
            async with sem:
                r = await client.get(url)
                r.read()
        t0 = time.perf_counter()
        await asyncio.gather(*(one(u) for u in urls))
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--names", default=None, help="a watch_file CSV (name,alias,domain) to load too")
    args = parser.parse_args()
    site = BenchSite()
    try:
        urls = site.urls()
        bare = min(asyncio.run(bare_get(urls)) for _ in range(3))
        with tempfile.TemporaryDirectory() as tmp:
            watch_file = ""
            if args.names:
                watch_file = (f'[[watch_file]]\npath = "{Path(args.names).resolve().as_posix()}"\n'
                              'name_column = "name"\nterms_columns = ["name", "alias", "domain"]\n')
            config = Path(tmp) / "config.toml"
            config.write_text(
                f'[storage]\npath = "{tmp}/bench.db"\n[network]\nconcurrency = {CONCURRENCY}\nhost_delay = "0s"\n'
                '[[watch]]\nname = "Mediboard"\nterms = ["Mediboard", "patients records"]\n'
                f'{watch_file}\n{sources_toml(site)}', encoding="utf-8")
            env = {**os.environ, "LEAKMON_TELEGRAM_TOKEN": ""}
            cmd = [sys.executable, "-m", "monitor", "-q", "--config", str(config), "once"]
            times = []
            for label in ("first poll (all new)", "second poll (nothing new)"):
                t0 = time.perf_counter()
                subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=False)
                times.append((label, time.perf_counter() - t0))
        print(f"pages: {len(urls)} (300 MyBB listings of 40 threads, 100 t.me/s pages), concurrency {CONCURRENCY}")
        print(f"bare httpx GET of every page:     {bare:7.2f} s")
        for (label, seconds), goal in zip(times, (2.0, 1.2)):
            print(f"leakmon once, {label:<26} {seconds:7.2f} s   ratio {seconds / bare:5.2f}  (goal <= {goal})")
        print("(leakmon's time includes its start-up, config load, SQLite writes and console output)")
    finally:
        site.close()


if __name__ == "__main__":
    main()
