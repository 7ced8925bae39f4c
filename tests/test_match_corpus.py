"""The matching-quality corpus (tests/fixtures/match_corpus.json): real-page spellings in, hits out.

Each case goes the way of a scraped item: repaired (monitor.repair.repair_item, as the pipeline
does), then matched. It names the entries that must fire (and, by omission, those that must not),
the hits expected to be flagged as read through lookalike letters, and texts repair must not touch.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.config import WatchEntry
from monitor.match import Matcher
from monitor.records import Item
from monitor.repair import repair_item

CORPUS = json.loads((Path(__file__).parent / "fixtures" / "match_corpus.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher([WatchEntry(name=w["name"], terms=tuple(w["terms"])) for w in CORPUS["watch"]], cache_dir=None)


@pytest.mark.parametrize("case", CORPUS["cases"], ids=lambda c: c["title"][:40])
def test_corpus_case(matcher: Matcher, case: dict) -> None:
    item = Item(source="corpus", item_id="1", url="http://x/1", title=case["title"], text=case.get("text"))
    repaired = repair_item(item)
    if case.get("unchanged"):
        assert repaired is item, "legitimate text must come out of repair untouched"
    hits = matcher.match(repaired.title, repaired.text)
    assert [h.watch for h in hits] == case["hits"], case.get("note", "")
    assert [h.watch for h in hits if h.lookalike] == case.get("lookalike", []), case.get("note", "")
    for h in hits:  # offsets point into the stored (repaired) text, on the matched words
        field = repaired.title if h.field == "title" else repaired.text
        assert field is not None and 0 <= h.start < h.end <= len(field)


def test_strict_entries_read_lookalikes_with_their_case() -> None:
    strict = Matcher([WatchEntry(name="Compilation", terms=("Compilation of lawyers",), strict=True)], cache_dir=None)
    hits = strict.match("\u0421ompilation of lawyers France", None)        # Cyrillic capital Es
    assert [(h.watch, h.lookalike) for h in hits] == [("Compilation", True)]
    assert strict.match("\u0441ompilation of lawyers France", None) == []  # small es: the case differs


def test_regex_terms_see_the_same_reading() -> None:
    m = Matcher([WatchEntry(name="Axicorp", regex=(r"axi\s?corp",))], cache_dir=None)
    hits = m.match("dump of Axi\u0441orp", None)
    assert [(h.watch, h.lookalike) for h in hits] == [("Axicorp", True)]
