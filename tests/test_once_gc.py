"""once: what start-up built is frozen out of the garbage collector's passes while the sources are
polled, and given back to it afterwards (a caller in the same process, e.g. a test, keeps a normal
collector)."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest

from monitor import usecases
from monitor.runtime import load
from tests.loopback import LoopbackSite


def test_startup_objects_are_frozen_during_the_polls_only(site: LoopbackSite, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    site.route("/feed", b"<rss><channel><item><title>x</title><link>http://e.example/1</link></item></channel></rss>",
               headers={"Content-Type": "application/rss+xml"})
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "x.db"}"\n[[source]]\nname = "feed"\nkind = "rss"\n'
                      f'url = "{site.url("/feed")}"\n', encoding="utf-8")
    monkeypatch.setenv("LEAKMON_TELEGRAM_TOKEN", "")
    frozen_while_polling: list[int] = []
    real_poll = usecases.poll_source

    async def watching(src, eng):  # type: ignore[no-untyped-def]
        frozen_while_polling.append(gc.get_freeze_count())
        return await real_poll(src, eng)

    monkeypatch.setattr(usecases, "poll_source", watching)
    loaded = load(str(config))
    outcome = asyncio.run(usecases.once(loaded, loaded.sources, 10.0))
    assert outcome.ok
    assert frozen_while_polling and frozen_while_polling[0] > 1000
    assert gc.get_freeze_count() == 0
