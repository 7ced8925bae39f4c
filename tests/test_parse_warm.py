"""The parse workers start before the first page when pages are sure to come (a first poll of
more listings than one round of requests brings), with the parsers' modules imported there; a
later poll (every listing may be unchanged) starts them only at the first page that needs one."""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import sources
from monitor import usecases
from monitor.config import SourceConfig
from monitor.fetch import Page
from monitor.runtime import load
from sources import parsepool
from tests.loopback import LoopbackSite
from tests.support import warmcheck
from tests.test_sources_off_loop import big_mybb_listing


@pytest.fixture
def one_worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(parsepool.WORKERS_ENV, "1")
    monkeypatch.setenv("LEAKMON_TELEGRAM_TOKEN", "")
    parsepool.shutdown()
    yield
    parsepool.shutdown()


def test_warm_starts_the_worker_now_with_the_modules_imported_there(one_worker: None) -> None:
    page = Page("http://forum.example/", 200, b"x" * parsepool.POOL_BYTES, {})
    parsepool.warm(["tests.support.importmark"])
    assert multiprocessing.active_children()        # started before any page was given to it
    assert asyncio.run(parsepool.in_worker(page, warmcheck.loaded, "tests.support.importmark"))
    parsepool.shutdown()
    # The same question without warm: a worker imports only what its parse needs.
    assert not asyncio.run(parsepool.in_worker(page, warmcheck.loaded, "tests.support.importmark"))


def test_warm_does_nothing_when_pages_are_parsed_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parsepool.WORKERS_ENV, "0")
    parsepool.shutdown()
    parsepool.warm(["sources.html"])
    assert parsepool._pool is None


def test_the_pooled_kinds_are_the_kinds_whose_modules_parse_in_the_pool() -> None:
    pooled = {kind for kind, name in sources.KINDS.items()
              if getattr(importlib.import_module(name), "in_worker", None) is parsepool.in_worker}
    assert pooled == sources.POOLED_KINDS


def _world(site: LoopbackSite, tmp_path: Path, boards: int, concurrency: int) -> Path:
    tables = []
    for n in range(boards):
        site.route(f"/board/{n}", big_mybb_listing(60).replace(b"tid_", f"tid_{n}0".encode()))
        tables.append(f'[[source]]\nname = "board-{n}"\nkind = "html"\npreset = "mybb"\n'
                      f'url = "{site.url(f"/board/{n}")}"\n')
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "x.db"}"\n[network]\nconcurrency = {concurrency}\n'
                      'host_delay = "0s"\n' + "\n".join(tables), encoding="utf-8")
    return config


def _warm_calls(site: LoopbackSite, monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], int]]:
    """Each parsepool.warm call: (modules, how many pages the site had served by then)."""
    calls: list[tuple[list[str], int]] = []
    real = parsepool.warm

    def spy(modules: Sequence[str] = ()) -> None:
        calls.append((list(modules), len(site.requests)))
        real(modules)

    monkeypatch.setattr(parsepool, "warm", spy)
    return calls


def test_a_first_poll_of_many_listings_starts_the_workers_before_the_first_page(
        one_worker: None, site: LoopbackSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(big_mybb_listing(60)) >= parsepool.POOL_BYTES
    config = load(str(_world(site, tmp_path, boards=3, concurrency=2)))
    calls = _warm_calls(site, monkeypatch)
    first = asyncio.run(usecases.once(config, config.sources, 10.0))
    assert first.ok and all(r.saved is not None and r.saved.new_items == 60 for r in first.reports)
    assert calls == [(["sources.html"], 0)]
    # Nothing new since: every listing may be unchanged, so no worker is started ahead.
    parsepool.shutdown()
    second = asyncio.run(usecases.once(config, config.sources, 10.0))
    assert second.ok and all(r.unchanged for r in second.reports)
    assert calls == [(["sources.html"], 0)]
    assert parsepool._pool is None                  # and no page needed one


def test_a_first_poll_that_one_round_of_requests_covers_starts_no_worker_ahead(
        one_worker: None, site: LoopbackSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(str(_world(site, tmp_path, boards=2, concurrency=2)))
    calls = _warm_calls(site, monkeypatch)
    assert asyncio.run(usecases.once(config, config.sources, 10.0)).ok
    assert calls == []


def test_once_imports_what_follows_the_polls_before_they_start(
        site: LoopbackSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Started once the polls had started, the imports ran while the answers were read, and a
    # second poll took longer (the event loop waited for the interpreter lock at each socket call).
    site.route("/feed", b"<rss><channel><item><title>x</title><link>http://e.example/1</link></item></channel></rss>",
               headers={"Content-Type": "application/rss+xml"})
    tables = "\n".join(f'[[source]]\nname = "feed{n}"\nkind = "rss"\nurl = "{site.url("/feed")}"\n' for n in range(40))
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "x.db"}"\n{tables}', encoding="utf-8")
    monkeypatch.setenv("LEAKMON_TELEGRAM_TOKEN", "")
    started: list[str] = []
    imported_after: list[int] = []
    real_poll = usecases.poll_source

    async def watching(src: SourceConfig, eng: Any) -> Any:
        started.append(src.name)
        return await real_poll(src, eng)

    def import_soon(*names: str) -> None:
        imported_after.append(len(started))

    monkeypatch.setattr(usecases, "poll_source", watching)
    monkeypatch.setattr(usecases, "import_soon", import_soon)
    loaded = load(str(config))
    assert asyncio.run(usecases.once(loaded, loaded.sources, 10.0)).ok
    assert imported_after == [0] and len(started) == 40
