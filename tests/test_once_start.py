"""once starts its polls in batches, looking at the event loop between them: the first polls'
next steps (reading their answers) run before the last polls have started, not after all of them;
every selected source is still polled, in the config's order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from monitor import usecases
from monitor.config import SourceConfig


def test_the_first_polls_go_on_while_the_others_start(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []
    started_when_first_resumed: list[int] = []

    async def poll(src: SourceConfig, eng: Any) -> str:
        started.append(src.name)
        await asyncio.sleep(0)           # the poll waits on the network
        if not started_when_first_resumed:
            started_when_first_resumed.append(len(started))
        return src.name

    monkeypatch.setattr(usecases, "poll_source", poll)
    selected = [SourceConfig(name=f"s{n}", kind="rss", url=f"http://e.example/{n}") for n in range(400)]

    async def run() -> list[str]:
        return list(await asyncio.gather(*await usecases._start_polls(selected, None)))  # type: ignore[arg-type]

    assert asyncio.run(run()) == [f"s{n}" for n in range(400)]
    assert started == [f"s{n}" for n in range(400)]
    assert started_when_first_resumed[0] <= 2 * usecases.START_BATCH
