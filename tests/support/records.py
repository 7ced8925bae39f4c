"""What the store tests save: watch entries, items, hits and poll records, all at ``T0``."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.config import WatchEntry
from monitor.records import Hit, Item, PollRecord
from tests.support.clocks import T0

WATCHES = {
    "Mediboard": WatchEntry(name="Mediboard", kind="software", terms=("Mediboard",), severity="high",
                            chats=("soc", "ops")),
    "CHU de Rennes": WatchEntry(name="CHU de Rennes", kind="establishment", terms=("CHU de Rennes",),
                                severity="critical", chats=("soc",)),
    "Softway": WatchEntry(name="Softway", kind="software", terms=("Softway Medical",), chats=("soc",)),
}


def item(n: int | str, title: str = "", text: str | None = None, source: str = "forum") -> Item:
    return Item(source=source, item_id=str(n), url=f"http://forum.example/t/{n}", title=title or f"thread {n}",
                text=text, author="seller", date=T0 - timedelta(hours=1))


def hit(watch: str, term: str | None = None, fld: str = "text", start: int = 0) -> Hit:
    term = term or watch
    return Hit(watch=watch, terms=(term,), field=fld, start=start, end=start + len(term))


def ok_poll(source: str = "forum", n: int = 0, started: datetime = T0) -> PollRecord:
    return PollRecord(source=source, started=started, duration=0.5, ok=True, items=n)


def failed_poll(reason: str = "HTTP 503", source: str = "forum", started: datetime = T0) -> PollRecord:
    return PollRecord(source=source, started=started, duration=0.5, ok=False, error=reason)
