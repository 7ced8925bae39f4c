"""monitor.repair: mojibake repaired with ftfy, lookalike letters of mixed-script words read as Latin."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.records import Item
from monitor.repair import (
    has_mojibake,
    lookalike_span,
    lookalikes,
    repair_item,
    repair_text,
)

APOSTROPHE_TWICE = "’".encode().decode("cp1252").encode().decode("cp1252")   # "Ã¢â‚¬â„¢"


@pytest.mark.parametrize(("broken", "fixed"), [
    ("La ChÃ¢taigneraie", "La Châtaigneraie"),
    ("SantÃ©lys", "Santélys"),
    ("Prefeitura de BalneÃ¡rio CamboriÃº", "Prefeitura de Balneário Camboriú"),
    ("Dentistry\u00e2\u0080\u008b", "Dentistry"),                # zero-width space read as Latin-1, then dropped
    ("Dentistry" + "\u200b".encode().decode("cp1252", "replace"), "Dentistry"),
    ("Children" + APOSTROPHE_TWICE + "s Hospital", "Children’s Hospital"),
    ("Hôpital Saint-Joseph et SantÃ©lys", "Hôpital Saint-Joseph et Santélys"),   # legit and broken mixed
    ("РЎР°РЅРєС‚-РџРµС‚РµСЂР±СѓСЂРі", "Санкт-Петербург"),                          # UTF-8 read as cp1251
])
def test_mojibake_is_repaired(broken: str, fixed: str) -> None:
    assert has_mojibake(broken)
    assert repair_text(broken) == fixed


@pytest.mark.parametrize("legit", [
    "PREFEITURA DE SÃO PAULO", "IRMÃ  E FILHOS", "Ã  noite", "château ÂGE d'or", "l’hôpital «privé» – 2024…",
    "Санкт-Петербург", "Κρήτη", "naïve café ﬁnance ＡＢＣ", "plain ascii", "", "Сі",
])
def test_legitimate_text_is_returned_as_is(legit: str) -> None:
    assert repair_text(legit) is legit


def test_repair_item_repairs_title_text_and_author_and_keeps_clean_items() -> None:
    clean = Item(source="s", item_id="1", url="http://x/1", title="Hôpital", text="ok", author="bob")
    assert repair_item(clean) is clean
    broken = Item(source="s", item_id="2", url="http://x/2", title="SantÃ©lys", text="La ChÃ¢taigneraie",
                  author="JosÃ©")
    fixed = repair_item(broken)
    assert (fixed.title, fixed.text, fixed.author) == ("Santélys", "La Châtaigneraie", "José")
    assert (fixed.source, fixed.item_id, fixed.url) == ("s", "2", "http://x/2")


def test_mixed_script_words_read_as_latin_with_the_same_length() -> None:
    for raw, read in [("\u0421ompilation of lawyers", "Compilation of lawyers"), ("Axi\u0441orp", "Axicorp"),
                      ("M\u0406CROSOFT", "MICROSOFT"), ("\u041d\u03bfspital", "Hospital"),
                      ("B\u0430yer, \u0432\u0430\u0443\u0435\u0433", "Bayer, \u0432\u0430\u0443\u0435\u0433")]:
        assert lookalikes(raw) == read
        assert len(lookalikes(raw)) == len(raw)


@pytest.mark.parametrize("text", ["\u0412\u0430\u0443\u0435\u0433", "\u0410\u0441\u0435 \u041c\u043e\u0441\u043a\u0432\u0430",
                                  "\u0391\u03a7\u0399\u039f\u03a1", "plain", "caf\u00e9 \u0421\u0430\u0440\u0430"])
def test_words_in_one_script_are_left_alone(text: str) -> None:
    assert lookalikes(text) is text


def test_lookalike_span_judges_the_whole_word() -> None:
    text = "leak: Axi\u0441orp and Axicorp"
    assert lookalike_span(text, 6, 13)
    assert not lookalike_span(text, 18, 25)
    assert not lookalike_span("\u0412\u0430\u0443\u0435\u0433", 0, 5)


LOOKALIKE_PIECES = ["Axiсorp", "Сlinique", "Mediboаrd", "привет", "мир", "Ωmega", "σοφία", "abc", "Hôpital", "x",
                    "1", "_", " ", ", ", "\n", "\u037e", "\u0384", "\u0483", "а", "c", "é", "中", "ǀ", "e\u0301",
                    "Ꙁ", "ᲀ", "ἀ", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" * 2]


def reference_lookalikes(text: str) -> str:
    """The rule as one regex over every word (the former implementation)."""
    from monitor.repair import _MIXED, _lookalike_table

    return _MIXED.sub(lambda m: m.group().translate(_lookalike_table()), text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(LOOKALIKE_PIECES) | st.characters(), max_size=80).map("".join))
def test_lookalikes_finds_the_mixed_words_the_regex_finds(text: str) -> None:
    assert lookalikes(text) == reference_lookalikes(text)
    # A long Cyrillic text with a few mixed words: the words are found far from each other.
    long = ("продам базу " * 500) + text + (" данных " * 500) + "Axiсorp"
    assert lookalikes(long) == reference_lookalikes(long)
