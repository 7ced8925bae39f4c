"""match_many: many items in one pass give exactly the hits of matching them one by one."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.batchmatch import _separator, match_many
from monitor.config import WatchEntry
from monitor.match import Matcher

WATCHES = [
    WatchEntry(name="HSJ", terms=("Hôpital Saint-Joseph", "hsj.fr")),
    WatchEntry(name="CHU", terms=("CHU de Rennes", "chu-rennes.fr")),
    WatchEntry(name="Medi", terms=("Mediboard",), exclude=("tutorial",)),
    WatchEntry(name="Clinic", terms=("Clinique Étoile",), requires=("patients",)),
    WatchEntry(name="Strict", terms=("Laboratoire Mémé",), strict=True),
    WatchEntry(name="Re", regex=(r"sec-\d{3}",)),
    WatchEntry(name="Dot", terms=("dot",)),
    WatchEntry(name="X", terms=("x",)),
]
TOKENS = ["Hôpital", "saint", "Joseph", "-", ", ", "CHU", "de", "Rennes", "chu-rennes[dot]fr", "hsj[.]fr", "[dot]",
          "dot]", "(dot", "Mediboard", "tutorial", "Clinique", "étoile", "patients", "Laboratoire", "Mémé", "sec-123",
          "x", "😀", "\n", "e\u0301", "medi\u200bboard", "Mediboаrd", "Сlinique", "Hôpital Saint-Joseph", "CHU de Rennes",
          "Clinique Étoile", "Laboratoire Mémé", "!!", ""]


def one_by_one(matcher: Matcher, pairs: list[tuple[str, str | None]]) -> list[list]:
    return [matcher.match(title, text) for title, text in pairs]


def random_pairs(rng: random.Random, n: int) -> list[tuple[str, str | None]]:
    def field(words: int) -> str:
        return "".join(rng.choice(TOKENS) + rng.choice([" ", "", "-"]) for _ in range(rng.randrange(words)))
    return [(field(6), None if rng.random() < 0.2 else field(40)) for _ in range(n)]


def test_many_items_in_one_pass_equal_one_by_one(engine: str) -> None:
    matcher = Matcher(WATCHES)
    assert _separator(matcher) == "þ"
    pairs = random_pairs(random.Random(5), 400)
    expected = one_by_one(matcher, pairs)
    assert sum(map(len, expected)) > 200
    assert match_many(matcher, pairs) == expected


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), n=st.integers(0, 12))
def test_many_items_hypothesis(engine: str, seed: int, n: int) -> None:
    matcher = Matcher(WATCHES)
    pairs = random_pairs(random.Random(seed), n)
    assert match_many(matcher, pairs) == one_by_one(matcher, pairs)


def test_the_separator_letter_in_a_text_or_a_key(engine: str) -> None:
    matcher = Matcher(WATCHES)
    pairs = [("Þ þ CHU de", "Rennes þ"), ("x", "Mediboard")]
    assert match_many(matcher, pairs) == one_by_one(matcher, pairs)
    # the letter inside words (no word of its own): the batch is still matched in one pass
    pairs = [("aþb CHU de Rennes", "þCHU de Rennes"), ("CHU de Rennesþ x", "Mediboard þþ"), ("x", "hsjþfr hsj.fr")]
    assert match_many(matcher, pairs) == one_by_one(matcher, pairs)
    assert sum(map(len, one_by_one(matcher, pairs))) >= 4
    icelandic = Matcher(WATCHES + [WatchEntry(name="Þórshöfn", terms=("Þórshöfn", "ð"))])
    assert _separator(icelandic) == "ø"
    pairs = [("Þórshöfn þ", "ð x"), ("CHU de", "Rennes")]
    assert match_many(icelandic, pairs) == one_by_one(icelandic, pairs)
