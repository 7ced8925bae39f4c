"""monitor.normalize: folding one-for-one, defanging, word form and its offset map."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.normalize import JOIN, WordForm, fold, fold_strict, match_form, match_form_strict, match_forms


@pytest.fixture(scope="module", autouse=True, params=["compiled", "python"])
def fold_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test of this file runs on the compiled fold (monitor._textfold) and on the Python code."""
    from monitor import normalize, textfold, wordform

    if request.param == "compiled" and not textfold.LOADED:
        pytest.skip("monitor._textfold is not built (no C compiler at install, or LEAKMON_TEXTFOLD=0)")
    saved = normalize._FOLDERS, wordform._native
    if request.param == "python":
        normalize._FOLDERS, wordform._native = {}, False
    yield request.param
    normalize._FOLDERS, wordform._native = saved


def brute_word_positions(folded: str) -> list[int]:
    """Folded positions of the word characters, in order: what the word form keeps."""
    return [i for i, ch in enumerate(folded) if ch not in (" ", JOIN)]


def reference_word_form(folded: str) -> str:
    return re.sub(" {2,}", " ", " " + folded.replace(JOIN, "") + " ")


# ---------------------------------------------------------------- fold


@pytest.mark.parametrize("text", ["Hôpital Saint-Joseph", "hopital saint joseph", "HOPITAL SAINT_JOSEPH",
                                  "HÔPITAL\tSAINT.JOSEPH"])
def test_spec_spellings_fold_alike(text: str) -> None:
    assert fold(text) == "hopital saint joseph"


@pytest.mark.parametrize("text", [
    "Hôpital d'Instruction des Armées 😀",
    "Привет, Ἀθῆναι! Straße ﬁx µ ½ ²",
    "a\u0301b\u200bc\u00add\x00e\x7f\u202ef",
    "日本語のテキスト、テスト。",
    "\U0001F600\U0001F4A9 x \U00010400",
    "",
])
def test_one_character_out_per_character_in(text: str) -> None:
    assert len(fold(text)) == len(text)
    assert len(fold_strict(text)) == len(text)


def test_letters_lose_case_and_accents_one_for_one() -> None:
    assert fold("ÉÈÊËàçÑÿ") == "eeeeacny"
    assert fold("Straße") == "strase"           # ß -> one "s", so offsets still line up
    assert fold("Ἀθῆναι Привет Й") == "αθηναι привет и"
    assert fold("ﬁn") == "fn"                   # ligature: first base character only


def test_every_non_alphanumeric_becomes_a_space() -> None:
    assert fold("a_b-c.d'e(f)g[h]i{j}k,l;m:n!o?p/q\\r\"s\x01t\nu\tv") == \
        "a b c d e f g h i j k l m n o p q r s t u v"
    assert fold("d\u02bcInstruction") == "d instruction"  # modifier-letter apostrophe


def test_invisible_characters_join_instead_of_splitting() -> None:
    folded = fold("Medi\u200bboard Ho\u0302pital")
    assert folded == f"medi{JOIN}board ho{JOIN}pital"
    assert WordForm(folded).text == " mediboard hopital "


def test_fast_and_slow_paths_agree_on_every_latin1_character() -> None:
    # An emoji forces the slow path (str.translate with the per-character map).
    for code in range(256):
        ch = chr(code)
        assert fold(ch + "\U0001F600")[0] == fold(ch), repr(ch)
        assert fold_strict(ch + "\U0001F600")[0] == fold_strict(ch), repr(ch)


def test_slow_path_matches_the_rule_for_mixed_text() -> None:
    text = "Clinique Sainte-Thérèse — réservée 😀 Σίσυφος, ПРИВЕТ"
    assert fold(text) == "clinique sainte therese   reservee   σισυφοσ  привет"  # casefold: final sigma too


def test_fold_strict_keeps_case_and_accents_but_folds_punctuation() -> None:
    assert fold_strict("Laboratoire Mémé (Lyon)") == "Laboratoire Mémé  Lyon "
    assert fold_strict("Saint_Jean-de-Luz") == "Saint Jean de Luz"


@pytest.mark.parametrize("text", ["chu-rennes[.]fr", "chu-rennes(.)fr", "chu-rennes[dot]fr",
                                  "chu-rennes{.}fr", "chu-rennes(dot)fr", "chu-rennes{dot}fr",
                                  "CHU-RENNES[DOT]FR", "hxxps://chu-rennes.fr", "chu-rennes.fr"])
def test_defanged_domains_reach_the_domain_word_form(text: str) -> None:
    assert WordForm(fold(text)).text.endswith(" chu rennes fr ")
    assert len(fold(text)) == len(text)


def test_the_word_dot_is_not_a_defanged_dot() -> None:
    assert fold("dot com bubble, polka dot") == "dot com bubble  polka dot"
    assert fold("[dot] and dot") == "      and dot"
    assert fold("a dot] b [dot c") == "a dot  b  dot c"  # a bracket on one side only


def test_defang_in_strict_fold() -> None:
    assert fold_strict("Mémé[DOT]fr") == "Mémé     fr"
    assert fold_strict("Mémé dot fr") == "Mémé dot fr"


def test_match_form_of_terms() -> None:
    assert match_form("  Hôpital  d'Instruction des Armées ") == "hopital d instruction des armees"
    assert match_form("CVE-2024-1234") == "cve 2024 1234"
    assert match_form("...") == ""
    assert match_form_strict("Laboratoire  Mémé") == "Laboratoire Mémé"


# ---------------------------------------------------------------- word form


def test_word_form_collapses_runs_and_pads() -> None:
    assert WordForm(fold("hopital   saint -- joseph")).text == " hopital saint joseph "
    assert WordForm(fold("")).text == " "
    assert WordForm(fold("...")).text == " "
    assert WordForm(fold("x")).text == " x "


def test_word_form_survives_a_huge_run_of_separators() -> None:
    text = "a" + " " * 300_000 + "b" + ",  " * 100_000 + "c" + "\u200b" * 50_000 + "d"
    words = WordForm(fold(text))
    assert words.text == " a b cd "
    mapping = words.to_original([1, 3, 5, 6])
    assert [text[mapping[p]] for p in (1, 3, 5, 6)] == ["a", "b", "c", "d"]


def test_word_form_maps_offsets_in_accented_and_non_latin1_text() -> None:
    text = "Привет 😀 — Ἀθῆναι:  Hôpital   Saint-Joseph!"
    words = WordForm(fold(text))
    at = words.text.index("hopital saint joseph")
    start, end = words.span(at, at + len("hopital saint joseph"))
    assert text[start:end] == "Hôpital   Saint-Joseph"


ALPHABET = st.sampled_from(list("abéZ0 -.,'_") + ["\u200b", "\u0301", "😀", "ж", "[dot]", "  "])


@settings(max_examples=300, deadline=None)
@given(st.lists(ALPHABET, max_size=60), st.sampled_from([1, 2, 5, 4096]))
def test_offset_map_agrees_with_brute_force(pieces: list[str], block: int) -> None:
    text = "".join(pieces)
    folded = fold(text)
    old = WordForm.BLOCK
    WordForm.BLOCK = block  # tiny blocks put anchors everywhere
    try:
        words = WordForm(folded)
    finally:
        WordForm.BLOCK = old
    assert words.text == reference_word_form(folded)
    keep = [i for i, ch in enumerate(words.text) if ch != " "]
    expected = brute_word_positions(folded)
    mapping = words.to_original(keep)
    assert [mapping[p] for p in keep] == expected
    # a sparse subset maps the same way as the full set
    subset = keep[::3]
    sparse = words.to_original(subset)
    assert all(sparse[p] == mapping[p] for p in subset)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_fold_is_one_for_one_on_any_text(text: str) -> None:
    folded = fold(text)
    assert len(folded) == len(text)
    for ch, out in zip(text, folded):
        if out not in (" ", JOIN):
            # a kept character is a letter or digit standing for the original one
            assert out.isalnum() and unicodedata.category(ch)[0] in "LN"


# ---------------------------------------------------------------- match_forms (bulk)


def test_match_forms_is_match_form_of_each_term() -> None:
    terms = ["Hôpital Saint-Joseph", "chu-rennes[.]fr", "CHU (dot) fr", "x[dot]y", " -- ", "Medi\u200bboard",
             "Привет, Мир", "a\u0301b", "(dot)", "ÉÈ  é", "dot", "[dot", "Straße 😀", "ﬁx µ"]
    assert match_forms(terms) == [match_form(t) for t in terms]
    assert match_forms(terms, strict=True) == [match_form_strict(t) for t in terms]
    assert match_forms([]) == []


def test_match_forms_with_a_newline_inside_a_term() -> None:
    # The bulk path joins terms with newlines: a term holding one must not be split in two.
    terms = ["Hôpital\nSaint-Joseph", "CHU de Rennes"]
    assert match_forms(terms) == ["hopital saint joseph", "chu de rennes"]
    assert match_forms(terms, strict=True) == ["Hôpital Saint Joseph", "CHU de Rennes"]


TERM_CHARS = st.sampled_from(list("abcXYZ éÉèçß-_.'[](){}") + ["dot", "DOT", "[dot]", "😀", "ж", "\u200b",
                                                                "\u0301", "\t", "ﬁ", "µ"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(TERM_CHARS, max_size=12).map("".join), max_size=8), st.booleans())
def test_match_forms_agrees_with_match_form(terms: list[str], strict: bool) -> None:
    one = match_form_strict if strict else match_form
    assert match_forms(terms, strict) == [one(t) for t in terms]


# ---------------------------------------------------------------- non-Latin-1 text translated whole

NON_LATIN1_WORDS = st.sampled_from(["Привет", "МИР", "Σίσυφος", "😀", "عيادة", "中文", "e\u0301", "Ĳssel", "ǅ",
                                    "\u200b", "\u02bc", "Ωmega", "ﬁ"]) | st.text(
    st.characters(min_codepoint=256), min_size=1, max_size=3)
# Never empty: each gap ends a run, so 70 pairs or more make over 64 runs (two words side by side
# would make one run, and the test could miss the whole-text path it is about).
LATIN1_GAPS = st.sampled_from([" ", ", ", "\n", "Hôpital-", "[dot]", "(DOT)", "x", "ß", "µ", "é", "\xad", "_"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.tuples(NON_LATIN1_WORDS, LATIN1_GAPS), min_size=70, max_size=160))
def test_text_with_many_non_latin1_runs_folds_by_the_rule(pairs: list[tuple[str, str]]) -> None:
    # Over 64 runs of non-Latin-1 characters: the whole text goes through one str.translate.
    from monitor import normalize

    text = "".join(word + gap for word, gap in pairs)
    assert len(normalize._NON_LATIN1_RUN.findall(text)) > normalize._FEW_RUNS
    assert fold(text) == normalize._undefang(text, "".join(map(normalize._fold_char, text)))
    strict = list("".join(map(normalize._fold_char_strict, text)))
    for m in normalize._DEFANGED.finditer(text):
        strict[m.start():m.end()] = " " * 5
    assert fold_strict(text) == "".join(strict)
    terms = [word + gap for word, gap in pairs]
    assert match_forms(terms) == [match_form(t) for t in terms]
    assert match_forms(terms, strict=True) == [match_form_strict(t) for t in terms]


# ---------------------------------------------------------------- Latin text with a few characters outside Latin-1

FEW_OUTSIDE = st.sampled_from(list("’‘“”–—…€œŒ•😀ΣσЖж\u0301\u200bǅĲ\ufdd0") + ["Hôpital ", "Saint-", "Jean", " ", ", ",
                                                                             "[dot]", "\n", "é", "ß", "µ", "\xad"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(FEW_OUTSIDE | st.sampled_from(["\x85", "\x9f"]) | st.characters(), max_size=60).map("".join),
                min_size=1, max_size=6))
def test_code_page_fold_agrees_with_the_rule(texts: list[str]) -> None:
    # Successive texts: the code page keeps its characters from one text to the next, starts
    # afresh when full, and gives way to the other paths on C1 controls or too many kinds.
    from monitor import normalize

    for text in texts:
        assert fold(text) == normalize._undefang(text, "".join(map(normalize._fold_char, text)))
        strict = list("".join(map(normalize._fold_char_strict, text)))
        for m in normalize._DEFANGED.finditer(text):
            strict[m.start():m.end()] = " " * 5
        assert fold_strict(text) == "".join(strict)
        lines = text.split("\n")
        assert match_forms(lines) == [match_form(t) for t in lines]


def test_code_page_takes_latin_text_with_typographic_characters() -> None:
    from monitor import normalize

    text = "l’hôpital “Saint-Jean” – Cœur, 😀 Ω\n" * 50
    assert fold(text) == "l hopital  saint jean    cœur    ω " * 50
    # the Python path's code page (fold() takes the compiled fold when it is built)
    assert normalize._translate_py(text, normalize._TABLE, normalize._MAPS[normalize._TABLE]) == fold(text)
    assert set(normalize._CODE_PAGE.chars) >= set("’“”–œ😀")
    assert normalize._CODE_PAGE.fold("a\x85b\u2019", normalize._TABLE, normalize._fold_char) is None   # a C1 control
    many = "".join(chr(0x0410 + k) for k in range(40))          # 40 kinds of Cyrillic letters
    assert normalize._CODE_PAGE.fold(many, normalize._TABLE, normalize._fold_char) is None
    assert fold(many + " " + text) == normalize._undefang(many + " " + text,
                                                          "".join(map(normalize._fold_char, many + " " + text)))


def test_code_page_never_lets_a_noncharacter_take_a_later_characters_slot() -> None:
    # An unused slot decodes to a noncharacter (U+FDD0 + slot): a text holding that noncharacter
    # before a new character outside Latin-1 must not see it turned into that character.
    from monitor.foldpage import CodePage

    def rule(ch: str) -> str:
        return " " if 0xFDD0 <= ord(ch) <= 0xFDEF else ch

    for prior in ([], ["’"], ["’“"]):
        page = CodePage()
        for text in prior:
            page.fold(text, bytes(range(256)), rule)
        slot = len(page.chars)
        text = chr(0xFDD0 + slot) + "œ" + chr(0xFDD0 + slot + 1) + "€"
        assert page.fold(text, bytes(range(256)), rule) in (None, " œ €"), prior
    assert fold("\ufdd0œ") == " œ"


def test_code_page_shared_by_threads_folds_each_text_by_the_rule() -> None:
    # Polls match in worker threads: texts with different characters outside Latin-1 fold at the
    # same time, each page change in one thread racing the others' encoding.
    import sys
    import threading

    from monitor import normalize

    alphabets = ["".join(chr(base + k) for k in range(20)) for base in (0x0410, 0x0391, 0x2010, 0x0100)]
    texts = [" ".join(f"Hôpital {a[k % 20]}{a[(k * 7) % 20]} de l’{k}" for k in range(40)) for a in alphabets]
    wanted = [normalize._undefang(t, "".join(map(normalize._fold_char, t))) for t in texts]
    wrong: list[int] = []

    def work(i: int) -> None:
        for _ in range(400):
            if fold(texts[i]) != wanted[i]:
                wrong.append(i)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work, args=(i % len(texts),)) for i in range(2 * len(texts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert not wrong
