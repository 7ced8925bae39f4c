"""The finders' and the record count's patterns, written to start with a character class (fast
search), find what the same patterns written with a leading lookbehind find."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import privacy, triage

# The patterns as first written: a lookbehind, then the first character.
_SEP = "[ .\u00a0\u202f-]"
REFERENCE = {
    "iban": (privacy._IBAN, re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ \u00a0]?[A-Z0-9]{1,4}){2,8}(?![A-Za-z0-9])")),
    "nir": (privacy._NIR, re.compile(
        rf"(?<![\w])[1-478]{_SEP}?\d\d{_SEP}?\d\d{_SEP}?(?:\d\d|2[ABab]){_SEP}?\d{{3}}{_SEP}?\d{{3}}{_SEP}?\d\d(?![\w])")),
    "iban start": (privacy._IBAN_START, re.compile(r"[A-Z]{2}\d{2}")),
    "card": (privacy._CARD, re.compile(r"(?<![\w.,])\d(?:[ \-\u00a0]?\d){12,18}(?![\w]|[.,]\d)")),
    "count": (triage._COUNT, re.compile(
        r"(?<![\w.,])(?P<num>\d{1,3}(?:(?:,|\.|[ \u00a0\u202f])\d{3})+|\d+(?:[.,]\d{1,2})?)"
        r"[ \u00a0\u202f]?(?P<mult>[kKmM]\b|[mM]ln\b|[mM]io\b|millions?\b|thousand\b|milliers?\b|mille\b|"
        r"billion\b|milliards?\b)?"
        r"[ \u00a0\u202f]*(?:[^\W\d]+[ \u00a0\u202f]+){0,2}?(?:" + triage._UNITS + r")\b", re.IGNORECASE)),
}

_pieces = st.sampled_from(["0", "1", "2", "3", "4", "7", "8", "9", "12", "123", "758", "912", "1234567", "4970101234567890",
                           "185057800608436", "4970 1012 3456 7890", "٣", "５", "A", "B",
                           "FR", "FR76", "GB", "2A", "2b", "a", "x", "é", "_", "k", "K", "M", "mln", "million",
                           "millions", "milliers", "patients", "records", "lignes", "Users", "fresh", " ", "  ", ".",
                           ",", "-", "\u00a0", "\u202f", "\n", "@", "+33", "\uff0b", "(", ")"])
_texts = st.lists(_pieces, max_size=60).map("".join)


def _found(pattern: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], dict[str, str | None]]]:
    return [(m.span(), m.groupdict()) for m in pattern.finditer(text)]


@settings(max_examples=3000, deadline=None)
@given(text=_texts)
def test_each_pattern_finds_what_its_reference_finds(text: str) -> None:
    for name, (pattern, reference) in REFERENCE.items():
        assert _found(pattern, text) == _found(reference, text), name
    assert privacy._has_plus(text) == (privacy._PLUS.search(text) is not None)


def test_examples_of_each_kind_are_found_alike() -> None:
    text = ("IBAN FR76 3000 6000 0112 3456 7890 189, NIR 1 85 05 78 006 084 36 and 2A 1234, card 4970 1012 3456 "
            "7890 1; 758,912 patients, 1.2M records, 3 012 lignes, 750k users; x1 85 05 78 006 084 36, 12.5 k rows")
    for name, (pattern, reference) in REFERENCE.items():
        assert _found(pattern, text) == _found(reference, text) != [], name
