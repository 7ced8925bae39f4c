"""Snippets prepared once per post (monitor.hitprep) are those masked_snippet gives each hit alone."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.hitprep import prepare
from monitor.privacy import masked_snippet
from monitor.records import Hit

TITLE = "Dump CHU de Rennes 06 12 34 56 78"
TEXT = ("CHU de Rennes patients, call 06 12 34 56 78 or jean.dupont@chu-rennes.fr, "
        "NIR 1 84 12 76 451 089 46; CHU de Rennes again 07 98 76 54 32.")
TERMS = (("CHU de Rennes",), ("CHU de Rennes", "06 12 34 56 78"), ("jean.dupont",), ())


def alone(hit: Hit) -> str:
    return masked_snippet(TEXT if hit.field == "text" else TITLE, hit.start, hit.end, hit.terms)


def test_hits_sharing_a_start_or_a_span_get_their_own_snippet() -> None:
    hits = [Hit(watch=f"e{i}", terms=terms, field="text", start=0, end=end)
            for i, (terms, end) in enumerate([(TERMS[0], 13), (TERMS[1], 13), (TERMS[0], 13), (TERMS[0], 44)])]
    hits.append(Hit(watch="t", terms=TERMS[1], field="title", start=0, end=13))
    snippets = prepare(TITLE, TEXT, hits).snippets
    assert [snippets[h] for h in hits] == [alone(h) for h in hits]
    assert snippets[hits[0]] != snippets[hits[1]]           # the second keeps the phone number readable
    assert snippets[hits[0]] != snippets[hits[3]]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(("title", "text")), st.integers(0, len(TEXT) + 3),
                          st.integers(0, 40), st.sampled_from(TERMS)), min_size=1, max_size=30))
def test_prepared_snippets_are_each_hits_own(draws: list[tuple[str, int, int, tuple[str, ...]]]) -> None:
    hits = [Hit(watch=f"e{i}", terms=terms, field=field, start=start, end=start + length)
            for i, (field, start, length, terms) in enumerate(draws)]
    snippets = prepare(TITLE, TEXT, hits).snippets
    assert [snippets[h] for h in hits] == [alone(h) for h in hits]
