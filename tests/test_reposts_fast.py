"""The repost comparison with cached title forms (monitor.reposts.TitleForms) says what difflib
said when it was built for each pair: tested against that reference on related and unrelated titles."""

from __future__ import annotations

import difflib
import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.reposts import REPOST_RATIO, TitleForm, TitleForms, long_enough, near_identical

_NUMBER = re.compile(r"\d+")


def reference(a: str, b: str) -> bool:
    """The comparison as it was written first: one SequenceMatcher per pair."""
    if not long_enough(a) or not long_enough(b):
        return False
    if a == b:
        return True
    na, nb = set(_NUMBER.findall(a)), set(_NUMBER.findall(b))
    if not (na <= nb or nb <= na):
        return False
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return (matcher.real_quick_ratio() >= REPOST_RATIO and matcher.quick_ratio() >= REPOST_RATIO
            and matcher.ratio() >= REPOST_RATIO)


WORDS = ("mediboard", "patients", "database", "dump", "chu", "de", "rennes", "758", "912", "2024", "part", "1", "2",
         "french", "records", "leak", "full", "sale")


def edit(rng: random.Random, key: str) -> str:
    """A near copy of ``key``: a few characters or words changed, dropped or added."""
    chars = list(key)
    for _ in range(rng.randrange(0, 4)):
        at = rng.randrange(0, len(chars) + 1)
        roll = rng.random()
        if roll < 0.3 and at < len(chars):
            del chars[at]
        elif roll < 0.6:
            chars.insert(at, rng.choice("abcde 0123"))
        elif at < len(chars):
            chars[at] = rng.choice("xyz 789")
    if rng.random() < 0.3:
        chars += list(" " + rng.choice(WORDS))
    return " ".join("".join(chars).split())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=9), st.integers(0, 2**32))
def test_cached_forms_decide_as_difflib_per_pair(words: list[str], seed: int) -> None:
    rng = random.Random(seed)
    base = " ".join(words)
    titles = [base, *(edit(rng, base) for _ in range(12)), " ".join(rng.sample(WORDS, 6))]
    forms = TitleForms()                     # one cache over every comparison, as a batch uses it
    for a in titles:
        for b in titles:
            expected = reference(a, b)
            assert near_identical(a, b) == expected
            assert forms.of(b).key == b       # the titles here are already folded
            assert forms.near(TitleForm(a), forms.of(b)) == expected


def test_related_titles_reach_both_answers() -> None:
    rng = random.Random(5)
    base = "mediboard 758 912 french patients database dump"
    answers = {reference(base, edit(rng, base)) for _ in range(200)}
    assert answers == {True, False}
