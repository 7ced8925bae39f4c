"""monitor._textfold, the compiled fold and word form: the same strings as the Python code, bounded, safe."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor import normalize, textfold, wordform

REQUIRE_ENV = "LEAKMON_REQUIRE_TEXTFOLD"

compiled = pytest.mark.skipif(not textfold.LOADED, reason="monitor._textfold is not built (or LEAKMON_TEXTFOLD=0)")

# The four tables and their rules, as normalize pairs them.
TABLES = [(normalize._TABLE, normalize._fold_char), (normalize._TABLE_NL, normalize._fold_char),
          (normalize._TABLE_STRICT, normalize._fold_char_strict),
          (normalize._TABLE_STRICT_NL, normalize._fold_char_strict)]

# Every kind of str (ASCII, Latin-1, BMP, astral), lone surrogates, gaps of every shape.
ANY_CHAR = st.characters(exclude_categories=())
PIECES = st.one_of(
    ANY_CHAR,
    st.sampled_from(["\0", " ", "  ", "\0 \0", "é", "ж", "😀", "\ud800", "\udfff", "\u200b", "\u0301", "\n", "[dot]",
                     "’", "ß", "µ", "ﬁ", "\x85", "\ufdd0", "\U0010ffff"]),
    st.integers(0, 40).map(lambda k: " " * k),
    st.integers(0, 9).map(lambda k: "\0" * k),
    st.text(ANY_CHAR, max_size=8),
)
TEXTS = st.lists(PIECES, max_size=80).map("".join)


def rule_fold(text: str, table: bytes, rule: Callable[[str], str]) -> str:
    """The definition: Latin-1 through the table, every other character by the rule."""
    return "".join(chr(table[ord(ch)]) if ord(ch) < 256 else rule(ch) for ch in text)


def test_extension_is_loaded_when_required() -> None:
    # CI sets LEAKMON_REQUIRE_TEXTFOLD=1: a build that silently fell back to Python fails there.
    if os.environ.get(REQUIRE_ENV) != "1":
        pytest.skip(f"{REQUIRE_ENV} is not set")
    assert textfold.LOADED, "monitor._textfold did not import: the C extension was not built"
    assert normalize._FOLDERS and wordform._native


@compiled
def test_environment_switches_the_compiled_fold_off() -> None:
    code = "from monitor import normalize, textfold, wordform; print(textfold.LOADED, bool(normalize._FOLDERS), wordform._native)"
    env = {k: v for k, v in os.environ.items() if k != "LEAKMON_TEXTFOLD"}
    on = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    off = subprocess.run([sys.executable, "-c", code], env={**env, "LEAKMON_TEXTFOLD": "0"}, capture_output=True,
                         text=True, check=True)
    assert (on.stdout.split(), off.stdout.split()) == (["True"] * 3, ["False"] * 3)


# ---------------------------------------------------------------- collapse


@compiled
@settings(max_examples=1500, deadline=None)
@given(TEXTS)
def test_collapse_equals_python(text: str) -> None:
    assert textfold.collapse(text) == wordform._collapse_py(text)


@compiled
def test_collapse_of_every_run_length_and_kind() -> None:
    for word in ("a", "é", "ж", "😀"):
        for k in range(70):
            for text in (" " * k, word + " " * k + word, " " * k + word + "\0" * (k % 5) + " " * k, "\0" * k + word):
                assert textfold.collapse(text) == wordform._collapse_py(text), (word, k)
    assert textfold.collapse("") == ""
    assert textfold.collapse("\0\0") == ""
    assert textfold.collapse("é") == "é" and textfold.collapse(" \0 ж  ") == " ж "


@compiled
def test_collapse_of_megabytes() -> None:
    text = ("Hôpital,  saint\0joseph" + " " * 300 + "ж\0 😀 ") * 50_000
    assert textfold.collapse(text) == wordform._collapse_py(text)
    assert textfold.collapse(" " * 3_000_000) == " "


# ---------------------------------------------------------------- fold


@compiled
@settings(max_examples=1000, deadline=None)
@given(TEXTS, st.sampled_from(range(4)))
def test_fold_equals_the_rule_and_the_python_path(text: str, which: int) -> None:
    table, rule = TABLES[which]
    folder = normalize._FOLDERS[table]
    want = rule_fold(text, table, rule)
    assert folder.translate(text) == want
    assert normalize._translate_py(text, table, normalize._MAPS[table]) == want


@compiled
def test_fold_of_each_kind_gives_a_str_of_the_narrowest_kind() -> None:
    # Equality of str compares their kinds first: a result left wider than its characters would
    # compare unequal to the same text built by Python.
    folder = normalize._FOLDERS[normalize._TABLE]
    cases = {"Hôpital": "hopital", "l’Hôpital": "l hopital", "😀É": " e", "Жé": "жe", "ǅ😀": "d ", "\ud800a": " a",
             "\U0001d400": "a", "": ""}
    for text, want in cases.items():
        got = folder.translate(text)
        # == compares the kind (1, 2 or 4 bytes) but not the ASCII flag; the size tells both
        assert (got, got.isascii(), sys.getsizeof(got)) == (want, want.isascii(), sys.getsizeof(want))
    for text in ("é\0 ", "ж  a", "😀\0\0é", " \0 ", "a  b"):
        got = textfold.collapse(text)
        want = wordform._collapse_py(text)
        assert (got, got.isascii(), sys.getsizeof(got)) == (want, want.isascii(), sys.getsizeof(want))
        got = textfold.word_form(text, 1)[0]
        want = wordform._word_form_py(text, 1)[0]
        assert (got, got.isascii(), sys.getsizeof(got)) == (want, want.isascii(), sys.getsizeof(want))
    strict = normalize._FOLDERS[normalize._TABLE_STRICT]
    assert strict.translate("Œ😀\U0001d400") == "Œ \U0001d400"


@compiled
def test_fold_of_megabytes_in_every_script() -> None:
    for sample in ("Hôpital Saint-Joseph, ", "l’hôpital “Saint” – ", "Привет, мир! ", "عيادة الشفاء ", "中文 😀 ",
                   "x\u0301\u200b"):
        text = sample * 200_000
        table, rule = TABLES[0]
        assert normalize._FOLDERS[table].translate(text) == normalize._translate_py(text, table,
                                                                                     normalize._MAPS[table])


@compiled
def test_cache_is_bounded() -> None:
    calls: list[str] = []

    def rule(ch: str) -> str:
        calls.append(ch)
        return normalize._fold_char(ch)

    folder = textfold.FoldTable(normalize._TABLE, rule, 4)
    # an attacker's page: one character from each of 1,000 blocks of 256 code points, then again
    text = "".join(chr(0x1000 + 256 * k + k % 256) for k in range(1000))
    assert folder.translate(text) == rule_fold(text, normalize._TABLE, normalize._fold_char)
    assert 1 <= folder.pages <= 4
    assert len(calls) == 1000
    assert folder.translate(text) == rule_fold(text, normalize._TABLE, normalize._fold_char)
    assert len(calls) == 2000 and folder.pages <= 4       # emptied and refilled, never more than 4 pages
    folder.clear()
    assert folder.pages == 0
    # the tables normalize uses hold at most as many characters as its Python maps
    assert normalize._FOLDERS[normalize._TABLE].max_pages * 256 <= normalize._SLOW_CACHE_LIMIT


@compiled
def test_rule_errors_raise_and_leak_nothing() -> None:
    bad = "ab"
    boom = ValueError("boom")

    def raising(ch: str) -> str:
        raise boom

    def wrong(ch: str) -> str:
        return bad

    text = "Hôpital ж" * 10
    before = sys.getrefcount(bad), sys.getrefcount(text)
    for rule, error in ((raising, ValueError), (wrong, TypeError), (lambda ch: "", TypeError),
                        (lambda ch: 5, TypeError), (lambda ch: b"a", TypeError)):
        folder = textfold.FoldTable(normalize._TABLE, rule)  # type: ignore[arg-type]
        for _ in range(200):
            with pytest.raises(error):
                folder.translate(text)
        assert folder.pages == 0
        assert folder.translate("plain Latin-1 needs no rule") == "plain latin 1 needs no rule"
    assert (sys.getrefcount(bad), sys.getrefcount(text)) == before
    with pytest.raises(TypeError):
        normalize._FOLDERS[normalize._TABLE].translate(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        textfold.FoldTable(b"short", normalize._fold_char)
    with pytest.raises(ValueError):
        textfold.FoldTable(normalize._TABLE, normalize._fold_char, 0)


@compiled
def test_a_rule_may_fold_to_a_wider_character() -> None:
    folder = textfold.FoldTable(bytes(range(256)), lambda ch: "😀" if ch == "ж" else "a")
    assert folder.translate("éжĀ") == "é😀a"
    assert folder.translate("Ā") == "a"


# ---------------------------------------------------------------- word form


@compiled
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS, st.sampled_from([1, 2, 3, 5, 17, 4096, 10**18]))
def test_word_form_equals_python(text: str, block: int) -> None:
    folded = normalize.fold(text)
    assert textfold.word_form(folded, block) == wordform._word_form_py(folded, block)
    assert textfold.word_form(text, block) == wordform._word_form_py(text, block)   # any str, folded or not


@compiled
def test_word_form_of_megabytes() -> None:
    text = normalize.fold(("Hôpital Saint-Joseph, l’ж😀  \u200b" + "-" * 5000 + "x") * 2000)
    assert textfold.word_form(text, 4096) == wordform._word_form_py(text, 4096)
    with pytest.raises(ValueError):
        textfold.word_form("a b", 0)


# ---------------------------------------------------------------- the scan, with and without


def test_scan_hits_are_the_same_with_and_without_the_compiled_fold(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[watch]]\nname = "CHU"\nterms = ["CHU de Rennes", "Hôpital Sud", "Мир", "الشفاء"]\n'
                      '[[watch]]\nname = "Medi"\nterms = ["Mediboard", "chu-rennes.fr"]\nexclude = ["tutorial"]\n',
                      encoding="utf-8")
    lines = ["Mediboard   leak, H\u00d4PITAL  SUD!", "le  C\u200bHU   de\u0301 Rennes 😀", "Привет, МИР — мир",
             "عيادة الشفاء", "chu-rennes[dot]fr,,,  chu rennes fr", '{"a": "CHU de Rennes", "b": "x"}',
             "l’hôpital “sud” – œ", "Mediboard tutorial", "  \0 " * 50 + "hopital sud"]
    path = tmp_path / "dump.txt"
    path.write_text("\n".join(lines * 300) + "\n", encoding="utf-8")
    outputs = []
    for switch in ("1", "0"):
        env = {**os.environ, "LEAKMON_TELEGRAM_TOKEN": "", "LEAKMON_CACHE_DIR": "", "LEAKMON_TEXTFOLD": switch}
        done = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "scan", "--format", "csv",
                               str(path)], capture_output=True, env=env, check=False, timeout=120)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.decode())
    assert outputs[0] == outputs[1]
    assert outputs[0].count("\n") > 2000
