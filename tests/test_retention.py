"""Retention on a real SQLite file: erased text leaves no byte behind, even without a VACUUM; what
stays (titles, hits, snippet, triage) still works; an erased post seen again is not stored again."""

from __future__ import annotations

from pathlib import Path

from monitor.evidence import PageRecord
from monitor.store import Store
from tests.support.clocks import T0, Clock
from tests.support.records import WATCHES, hit, item, ok_poll

SECRET = "Quetzalcoatlique jean.dupont@gmail.com 1 84 12 76 451 089 46"
DAY = 86400.0


def file_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def test_erased_text_leaves_no_bytes_even_in_a_big_file(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "leakmon.db"
    store = Store(path, clock=clock)
    try:
        text = "CHU de Rennes sample: jean.martin@gmail.com, more below." + " filler" * 80 + " " + SECRET
        old = item(1, "CHU de Rennes dump", text)
        page = PageRecord(url="http://forum.example/t/1", fetched=T0, status=200,
                          headers={"set-cookie": "sid=1", "content-type": "text/html"}, body=b"<p>the page</p>" * 50,
                          role="item")
        store.save_poll(ok_poll(n=1), [old], {"1": [hit("CHU de Rennes")]}, WATCHES, failure_threshold=3,
                        health_chats=(), evidence={"1": [page]})
        clock.advance(days=40)
        # a large file around it: erasing one post frees far less than the VACUUM threshold
        filler = [item(n, f"thread {n}", f"ordinary forum chatter number {n} " * 20) for n in range(2, 1500)]
        store.save_poll(ok_poll(n=len(filler)), filler, {}, WATCHES, failure_threshold=3, health_chats=())
        assert [i.item_id for i, _ in store.search("Quetzalcoatlique")] == ["1"]
        assert SECRET.encode() in file_bytes(path)

        result = store.prune(clock.now, keep_text=30 * DAY, keep_evidence=90 * DAY)
        assert (result.texts, result.evidence, result.vacuumed) == (1, 0, False)
        raw = file_bytes(path)
        # the FTS index holds words folded to lower case: look for those too
        for word in ("Quetzalcoatlique", "quetzalcoatlique", "jean.dupont", "dupont", "1 84 12 76 451 089 46"):
            assert word.encode() not in raw, word
        assert store.search("Quetzalcoatlique") == []
        assert [i.item_id for i, _ in store.search("dump")] == ["1"]               # the title stays
        [view] = store.hits()
        assert view.item.text is None and view.severity == "critical"
        assert view.triage is not None and view.triage.seen == {"NIR": 1, "e-mail": 2}
        assert view.snippet and view.snippet.startswith("CHU de Rennes sample: •••@gmail.com, more below.")
        [kept] = store.evidence(view.id) or []
        assert kept.body == page.body and "set-cookie" not in kept.headers

        # the listing still showing the post does not bring its text back
        assert store.to_match("forum", [old]) == []
        clock.advance(days=60)
        assert store.prune(clock.now, keep_text=30 * DAY, keep_evidence=90 * DAY).evidence == 1
        assert store.evidence(view.id) == [] and store.evidence(999) is None
        assert store.integrity_check() == "ok"
    finally:
        store.close()
    assert SECRET.encode() not in file_bytes(path)


def test_each_item_keeps_its_own_page_and_the_listing_page_that_shows_it() -> None:
    from monitor.evidence import pages_for_items
    from monitor.records import Item

    def page(url: str, body: bytes) -> PageRecord:
        return PageRecord(url=url, fetched=T0, status=200, headers={}, body=body)

    base = "http://forum.example/"
    fetched = [(base + "Forum-Databases", page(base + "Forum-Databases", b'<a href="Thread-one-dump">')),
               (base + "Forum-Databases?page=2", page(base + "Forum-Databases?page=2", b'<a href="Thread-two-dump">')),
               (base + "Thread-two-dump", page(base + "Thread-two-dump", b"the post"))]
    items = [Item(source="f", item_id="1", url=base + "Thread-one-dump", title="one"),
             Item(source="f", item_id="2", url=base + "Thread-two-dump", title="two", body_url=base + "Thread-two-dump")]
    kept = pages_for_items(items, fetched, ["2"])
    assert list(kept) == ["2"]
    assert [(p.role, p.url) for p in kept["2"]] == [("listing", base + "Forum-Databases?page=2"),
                                                    ("item", base + "Thread-two-dump")]
    assert [p.url for p in pages_for_items(items, fetched, ["1"])["1"]] == [base + "Forum-Databases"]
