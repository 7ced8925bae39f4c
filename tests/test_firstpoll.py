"""The first polls of `leakmon run`: spread over the first interval when they do not fit the slots."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from monitor.config import load_config
from monitor.daemon import Daemon
from monitor.firstpoll import MAX_SPREAD, first_poll_delays


def test_sources_that_fit_the_slots_are_all_polled_at_once() -> None:
    delays = first_poll_delays([(f"s{i}", 300.0) for i in range(8)], concurrency=8)
    assert delays == {f"s{i}": 0.0 for i in range(8)}


def test_many_sources_spread_evenly_over_the_interval_and_the_same_on_every_start() -> None:
    sources = [(f"forum-{i}", 300.0) for i in range(2000)]
    delays = first_poll_delays(sources, concurrency=64)
    assert delays == first_poll_delays(list(reversed(sources)), concurrency=64)   # fixed by the name alone
    assert all(0.0 <= d < 300.0 for d in delays.values())
    buckets = [0] * 10
    for d in delays.values():
        buckets[int(d // 30)] += 1
    assert min(buckets) > 150 and max(buckets) < 250     # ~200 in each tenth of the interval


def test_the_spread_is_capped_for_long_intervals() -> None:
    delays = first_poll_delays([(f"daily-{i}", 86400.0) for i in range(100)], concurrency=4)
    assert max(delays.values()) < MAX_SPREAD
    assert max(delays.values()) > MAX_SPREAD / 2


def _config(tmp_path, count: int, concurrency: int):
    lines = [f'[storage]\npath = "{tmp_path}/x.db"\n[network]\nconcurrency = {concurrency}\n'
             '[[watch]]\nname = "Acme"\nterms = ["acme"]\n']
    for i in range(count):
        lines.append(f'[[source]]\nname = "src-{i}"\nkind = "rss"\nurl = "http://127.0.0.1:9/{i}"\ninterval = "5m"\n')
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return load_config(path), str(path)


def _first_runs(tmp_path, count: int, concurrency: int) -> dict[str, float]:
    """The daemon's scheduled first run of each poll job, in seconds after scheduling."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    config, path = _config(tmp_path, count, concurrency)

    async def schedule() -> dict[str, float]:
        daemon = Daemon(config, path, None)
        daemon.scheduler = AsyncIOScheduler(timezone=UTC)
        daemon.scheduler.start(paused=True)
        start = datetime.now(UTC)
        daemon._schedule_all(config.sources)
        runs = {job.id: (job.next_run_time - start).total_seconds() for job in daemon.scheduler.get_jobs()}
        daemon.scheduler.shutdown(wait=False)
        return runs

    return asyncio.run(schedule())


def test_the_daemon_schedules_first_polls_spread(tmp_path) -> None:
    runs = _first_runs(tmp_path, 200, concurrency=16)
    assert len(runs) == 200
    assert all(-1.0 < r < 301.0 for r in runs.values())
    assert sum(1 for r in runs.values() if r > 150.0) > 60       # not all due at start
    delays = first_poll_delays([(f"src-{i}", 300.0) for i in range(200)], 16)
    assert all(abs(runs[f"poll:{name}"] - d) < 1.0 for name, d in delays.items())


def test_the_daemon_polls_a_handful_of_sources_at_once(tmp_path) -> None:
    runs = _first_runs(tmp_path, 5, concurrency=16)
    assert len(runs) == 5 and all(abs(r) < 1.0 for r in runs.values())
