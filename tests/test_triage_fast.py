"""Claimed kinds found word by word (monitor.triage._labels_named) are those the phrase regex finds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import triage
from monitor.normalize import match_form

_WORDS = sorted({w for phrase in triage._PHRASE_LABEL for w in phrase.split(" ")})
_pieces = st.sampled_from([*_WORDS, *triage._PHRASE_LABEL, "id card number", "nom de famille", "e-mail",
                           "Date de naissance", "N° sécu", "œnom", "nomœ", "ðmail", "x", "2024", "noms2", "_", "\u200b", "\u0301",
                           "me\u0301dical", "no\u00adm", "Mail", "NOM",
                           ",", ".", "'", "’", "-", "  ", "\n", "É", "ß", "ﬁ"])
_texts = st.lists(_pieces, max_size=40).flatmap(
    lambda pieces: st.lists(st.sampled_from([" ", "", ", ", "-", "\u00a0"]), min_size=len(pieces),
                            max_size=len(pieces)).map(lambda seps: "".join(p + s for p, s in zip(pieces, seps))))


def _by_regex(folded: str) -> set[str]:
    return {triage._PHRASE_LABEL[m.group(1)] for m in triage._CLAIMED.finditer(folded)}


@settings(max_examples=1500, deadline=None)
@given(text=_texts)
def test_the_word_walk_finds_what_the_regex_finds(text: str) -> None:
    folded = match_form(text)
    assert triage._labels_named(folded) == _by_regex(folded)


@settings(max_examples=1500, deadline=None)
@given(title=_texts, text=_texts)
def test_claimed_kinds_are_what_the_regex_finds_in_the_match_forms(title: str, text: str) -> None:
    # claimed_kinds reads the words of an ASCII fold without building its match form
    expected = _by_regex(match_form(title)) | _by_regex(match_form(text))
    assert triage.claimed_kinds(title, text) == [label for label in triage.ORDER if label in expected]


def test_overlapping_phrases_are_read_as_the_regex_reads_them() -> None:
    # "id card" is taken first, so "card number" is not seen: the regex never overlaps two matches
    for text, labels in [("id card number", {"ID document"}), ("card number", {"card"}),
                         ("nom de famille", {"names"}), ("numero de securite sociale x", {"NIR"}),
                         ("e mail e mails", {"e-mail"}), ("resultats d analyses", {"medical"}), ("", set())]:
        assert triage._labels_named(text) == _by_regex(text) == labels, text


def test_the_phrase_of_most_words_is_taken_as_the_regex_takes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # A phrase list where the order matters: "a b" is taken, so "b c" is never seen.
    labels = {"a": "one", "a b": "two", "b c": "three", "c": "four"}
    pattern, by_first = triage._phrase_index(labels)
    monkeypatch.setattr(triage, "_PHRASE_LABEL", labels)
    monkeypatch.setattr(triage, "_CLAIMED", pattern)
    monkeypatch.setattr(triage, "_BY_FIRST", by_first)
    for text, found in [("a b c", {"two", "four"}), ("x a b c a", {"two", "four", "one"}), ("b c", {"three"}),
                        ("a bc", {"one"}), ("ab c", {"four"})]:
        assert triage._labels_named(text) == _by_regex(text) == found, text
