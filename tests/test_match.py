"""monitor.match: the matching rules, on the Matcher as the pipeline and `scan` use it."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import monitor.match as match_module
import monitor.matchengine as engine_module
from monitor.config import WatchEntry
from monitor.errors import ConfigError
from monitor.match import Matcher
from monitor.normalize import WordForm, fold, match_form
from monitor.records import Hit

pytestmark = pytest.mark.usefixtures("engine")


def entry(name: str, *terms: str, **kw: object) -> WatchEntry:
    return WatchEntry(name=name, terms=terms or (name,), **kw)  # type: ignore[arg-type]


def names(hits: list[Hit]) -> list[str]:
    return [h.watch for h in hits]


def located(hit: Hit, title: str, text: str | None = None) -> str:
    """The original characters a hit points at."""
    source = title if hit.field == "title" else text
    assert source is not None
    return source[hit.start:hit.end]


# ---------------------------------------------------------------- examples of the matching rules


@pytest.mark.parametrize("title", ["Hôpital Saint-Joseph", "hopital saint joseph", "HOPITAL SAINT_JOSEPH",
                                   "hopital   saint joseph", "HÔPITAL/SAINT.JOSEPH"])
def test_case_accents_punctuation_and_spacing_do_not_matter(title: str) -> None:
    m = Matcher([entry("HSJ", "Hôpital Saint-Joseph")])
    hits = m.match(f"Dump: {title} (2024)", None)
    assert names(hits) == ["HSJ"]
    assert located(hits[0], f"Dump: {title} (2024)") == title


@pytest.mark.parametrize("term", ["hopital saint joseph", "HOPITAL SAINT_JOSEPH", "Hôpital Saint-Joseph"])
def test_accents_in_the_term_or_in_the_text(term: str) -> None:
    m = Matcher([entry("HSJ", term)])
    for text in ("Hôpital Saint-Joseph", "hopital saint joseph", "HÔPITAL SAINT JOSÈPH"):
        assert names(m.match(text, None)) == ["HSJ"], (term, text)


@pytest.mark.parametrize("text", ["chu-rennes[.]fr", "chu-rennes(.)fr", "chu-rennes[dot]fr", "chu-rennes{.}fr",
                                  "hxxps://chu-rennes.fr/dump", "CHU-RENNES(DOT)FR", "mail.chu-rennes.fr"])
def test_defanged_domains_match(text: str) -> None:
    m = Matcher([entry("CHU de Rennes", "CHU de Rennes", "chu-rennes.fr")])
    hits = m.match("new leak", f"see {text} for the sample")
    assert names(hits) == ["CHU de Rennes"]
    assert hits[0].terms == ("chu-rennes.fr",)
    assert hits[0].field == "text"
    assert match_form(located(hits[0], "new leak", f"see {text} for the sample")) == "chu rennes fr"


def test_a_term_never_matches_inside_a_longer_word() -> None:
    m = Matcher([entry("CHU de Rennes", "CHU de Rennes"), entry("Mediboard")])
    assert m.match("CHU de Rennesson", "Mediboards for sale, xCHU de Rennes") == []
    assert m.match("Mediboard2 and 2Mediboard and Médiboardé", None) == []


def test_underscore_separates_words() -> None:
    m = Matcher([entry("Mediboard")])
    assert names(m.match("mediboard_export.sql", None)) == ["Mediboard"]


def test_an_in_word_occurrence_does_not_hide_a_later_real_one() -> None:
    m = Matcher([entry("Mediboard")])
    title = "Mediboards ... Mediboard"
    hits = m.match(title, None)
    assert names(hits) == ["Mediboard"]
    assert (hits[0].start, hits[0].end) == (15, 24)
    text = "Mediboards " * 50 + "and one Mediboard"
    hits = m.match("x", text)
    assert hits[0].field == "text" and located(hits[0], "x", text) == "Mediboard"
    assert hits[0].start == text.rindex("Mediboard")


def test_apostrophes_fold_to_word_breaks() -> None:
    m = Matcher([entry("HIA", "Hôpital d'Instruction des Armées")])
    assert names(m.match("hopital d instruction des armees", None)) == ["HIA"]
    assert names(m.match("HÔPITAL D’INSTRUCTION DES ARMÉES", None)) == ["HIA"]
    m2 = Matcher([entry("HIA", "hopital d instruction des armees")])
    assert names(m2.match("Hôpital d'Instruction des Armées Bégin", None)) == ["HIA"]


def test_strict_entries_keep_case_and_accents() -> None:
    strict = Matcher([entry("Mémé", "Laboratoire Mémé", strict=True)])
    loose = Matcher([entry("Mémé", "Laboratoire Mémé")])
    assert strict.match("laboratoire même", None) == []
    assert strict.match("LABORATOIRE MÉMÉ", None) == []
    assert names(loose.match("laboratoire même", None)) == ["Mémé"]
    hits = strict.match("Résultats du Laboratoire-Mémé, Lyon", None)  # punctuation still folds
    assert names(hits) == ["Mémé"] and located(hits[0], "Résultats du Laboratoire-Mémé, Lyon") == "Laboratoire-Mémé"
    assert strict.match("Laboratoire Mémés", None) == []


def test_strict_and_plain_entries_together() -> None:
    m = Matcher([entry("plain", "Laboratoire Mémé"), entry("strict", "Laboratoire Mémé", strict=True)])
    assert names(m.match("laboratoire meme", None)) == ["plain"]
    assert names(m.match("Laboratoire Mémé", None)) == ["plain", "strict"]


def test_regex_terms_are_case_insensitive_and_located_in_the_original() -> None:
    m = Matcher([WatchEntry(name="Mediboard", terms=(), regex=(r"medi[\s_-]?board",))])
    title = "Accès MEDI-BOARD complet"
    hits = m.match(title, None)
    assert hits == [Hit(watch="Mediboard", terms=(r"medi[\s_-]?board",), field="title", start=6, end=16)]
    assert m.match("medicine board", None) == []


def test_regex_and_terms_report_the_earliest_match() -> None:
    m = Matcher([WatchEntry(name="M", terms=("OX Softway",), regex=(r"mediboard",))])
    title = "OX Softway / MEDIBOARD"
    hits = m.match(title, None)
    assert hits[0].terms == ("OX Softway", "mediboard")
    assert located(hits[0], title) == "OX Softway"
    title2 = "MEDIBOARD by ox softway"
    assert located(m.match(title2, None)[0], title2) == "MEDIBOARD"


def test_invalid_regex_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="regex"):
        Matcher([WatchEntry(name="bad", regex=("([",))])


def test_exclude_works_over_title_and_text() -> None:
    m = Matcher([entry("Mediboard", "Mediboard", exclude=("mediboard tutorial",))])
    assert m.match("Mediboard dump", "a MEDIBOARD-TUTORIAL for beginners") == []
    assert m.match("Mediboard tutorial", "full dump of mediboard") == []
    assert names(m.match("Mediboard dump", "tutorials elsewhere")) == ["Mediboard"]


def test_requires_must_all_appear_somewhere_in_the_item() -> None:
    m = Matcher([entry("CHU", "CHU de Rennes", requires=("patients", "base de données"))])
    assert m.match("CHU de Rennes", "patients only") == []
    assert names(m.match("CHU de Rennes patients", "Base-de-Données complète")) == ["CHU"]
    assert m.match("CHU de Rennes", "patientsX base de donnees") == []  # requires are words too


def test_requires_alone_never_fire() -> None:
    m = Matcher([entry("CHU", "CHU de Rennes", requires=("patients",))])
    assert m.match("patients", "patients") == []


def test_text_is_preferred_for_the_location() -> None:
    m = Matcher([entry("HSJ", "Saint-Joseph")])
    text = "again, Saint-Joseph"
    hits = m.match("Clinique saint joseph", text)
    assert hits[0].field == "text" and (hits[0].start, hits[0].end) == (7, 19)
    hits = m.match("Clinique saint joseph", "nothing here")
    assert hits[0].field == "title" and (hits[0].start, hits[0].end) == (9, 21)


def test_hit_terms_are_the_configured_terms_found_in_config_order() -> None:
    m = Matcher([entry("CHU", "CHU de Rennes", "CHU Rennes", "chu-rennes.fr", "Pontchaillou")])
    hits = m.match("chu-rennes.fr leak", "the CHU Rennes (Pontchaillou) database, CHU-Rennes again")
    assert hits[0].terms == ("CHU Rennes", "chu-rennes.fr", "Pontchaillou")


def test_offsets_land_on_the_original_characters_after_non_latin1_text() -> None:
    m = Matcher([entry("HSJ", "Hôpital Saint-Joseph"), entry("Σ", "Ἀθῆναι")])
    text = "Привет 😀😀 — Ἀθῆναι: \u200bдамп  HÔPITAL   Saint_Joseph, ok"
    hits = m.match("∅", text)
    assert names(hits) == ["HSJ", "Σ"]
    assert [located(h, "∅", text) for h in hits] == ["HÔPITAL   Saint_Joseph", "Ἀθῆναι"]


def test_offsets_in_accented_latin1_text() -> None:
    m = Matcher([entry("Évreux", "Centre hospitalier d'Évreux")])
    title = "Écœurant: données du CENTRE-HOSPITALIER D'EVREUX, été 2024"
    hit = m.match(title, None)[0]
    assert located(hit, title) == "CENTRE-HOSPITALIER D'EVREUX"


def test_terms_with_digits() -> None:
    m = Matcher([entry("CVE", "CVE-2024-1234"), entry("Win", "Windows 10")])
    assert names(m.match("poc for cve_2024_1234", None)) == ["CVE"]
    assert m.match("CVE-2024-12345 and CVE-2024-123", None) == []
    assert names(m.match("WINDOWS-10 box", None)) == ["Win"]
    assert m.match("Windows 100", None) == []


def test_single_letter_and_short_terms() -> None:
    m = Matcher([entry("X", "X"), entry("AP", "AP")])
    assert names(m.match("sold on X today", None)) == ["X"]
    assert m.match("Xavier, APHP, Xx", None) == []
    hits = m.match("AP-HP dump", None)
    assert names(hits) == ["AP"] and (hits[0].start, hits[0].end) == (0, 2)


def test_overlapping_terms_of_two_entries_both_fire_in_config_order() -> None:
    m = Matcher([entry("Rennes", "Rennes"), entry("CHU de Rennes", "CHU de Rennes"),
                 entry("Saint-Joseph", "Saint-Joseph"), entry("HSJ", "Hôpital Saint-Joseph")])
    title = "Hôpital Saint-Joseph & CHU de Rennes"
    hits = m.match(title, None)
    assert names(hits) == ["Rennes", "CHU de Rennes", "Saint-Joseph", "HSJ"]
    assert [located(h, title) for h in hits] == ["Rennes", "CHU de Rennes", "Saint-Joseph", "Hôpital Saint-Joseph"]


def test_same_term_in_two_entries_and_as_an_exclude_of_a_third() -> None:
    m = Matcher([entry("A", "Clinique Pasteur"), entry("B", "clinique pasteur"),
                 entry("C", "Pasteur", exclude=("Clinique Pasteur",))])
    assert names(m.match("Clinique Pasteur", None)) == ["A", "B"]
    assert names(m.match("Institut Pasteur", None)) == ["C"]


def test_no_text_and_empty_title() -> None:
    m = Matcher([entry("Mediboard")])
    assert m.match("", None) == []
    assert names(m.match("", "mediboard")) == ["Mediboard"]


def test_phrases_with_nothing_to_match_are_ignored() -> None:
    m = Matcher([WatchEntry(name="A", terms=("...", "Mediboard"), requires=("--",))])
    assert names(m.match("Mediboard", None)) == ["A"]
    assert m.match("... --", None) == []


def test_an_empty_watch_list_matches_nothing() -> None:
    assert Matcher([]).match("anything", "at all") == []
    assert list(Matcher([]).scan("anything")) == []


# ---------------------------------------------------------------- many entries


def letters(i: int) -> str:
    """0 -> "Ab", 1 -> "Ac"...: distinct letter-only names."""
    out = ""
    i += 27
    while i:
        i, r = divmod(i, 26)
        out = chr(ord("a") + r) + out
    return out.capitalize()


def test_ten_thousand_entries_still_exact() -> None:
    rng = random.Random(5)
    kinds = ["Centre hospitalier de", "Clinique Saint-", "EHPAD Les", "Hôpital privé d'"]
    watches = [entry(f"e{i}", f"{kinds[i % 4]} {letters(i)}ville", f"ch-{letters(i).lower()}.fr")
               for i in range(10_000)]
    m = Matcher(watches)
    chosen = sorted(rng.sample(range(10_000), 40))
    parts, expected = [], []
    for i in chosen:
        variant = watches[i].terms[0].upper() if i % 2 else watches[i].terms[0].replace("-", " ").lower()
        parts.append(f"lorem {variant}, ipsum")
        parts.append(f"not {watches[(i + 1) % 10_000].terms[0]}son")  # a longer word: no hit
        expected.append(f"e{i}")
    text = " ".join(parts)
    hits = m.match("dump", text)
    assert names(hits) == expected
    for h in hits:
        assert match_form(located(h, "dump", text)) == match_form(m.watches[int(h.watch[1:])].terms[0])


# ---------------------------------------------------------------- scan


def reference_scan(watches: list[WatchEntry], text: str) -> set[tuple[str, str, int, int]]:
    """Every whole-word occurrence, the slow obvious way (text without invisible characters)."""
    folded = fold(text)
    out = set()
    for w in watches:
        for term in w.terms:
            pattern = r"(?<![^ ])" + " +".join(map(re.escape, match_form(term).split())) + r"(?![^ ])"
            for m in re.finditer(pattern, folded):
                out.add((w.name, term, m.start(), m.end()))
    return out


def test_scan_finds_every_occurrence_with_original_offsets() -> None:
    m = Matcher([entry("Mediboard"), entry("CHU", "CHU de Rennes", "chu-rennes.fr")])
    text = "Mediboard, MEDIBOARDS, médiboard\nCHU   de-Rennes et chu-rennes[.]fr — mediboard"
    found = list(m.scan(text))
    assert [(w, text[s:e]) for w, _t, s, e in found] == [
        ("Mediboard", "Mediboard"), ("Mediboard", "médiboard"), ("CHU", "CHU   de-Rennes"),
        ("CHU", "chu-rennes[.]fr"), ("Mediboard", "mediboard")]


def test_scan_treats_the_whole_text_as_one_item() -> None:
    m = Matcher([entry("M", "Mediboard", exclude=("tutorial",)), entry("C", "CHU de Rennes", requires=("patients",)),
                 entry("D", "Softway", requires=("patients",))])
    text = "Mediboard dump\n" * 3 + "CHU de Rennes\n" + "x " * 1000 + "Softway\n" + "a tutorial\n" + "patients"
    assert [w for w, *_ in m.scan(text)] == ["C", "D"]


def test_scan_regex_entries() -> None:
    m = Matcher([WatchEntry(name="R", regex=(r"medi[\s_-]?board",)), entry("T", "board")])
    text = "MEDI BOARD and medi_board"
    assert [(w, text[s:e]) for w, _t, s, e in m.scan(text)] == [
        ("R", "MEDI BOARD"), ("T", "BOARD"), ("R", "medi_board"), ("T", "board")]  # "_" splits words


def test_scan_long_text_across_slices_and_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tiny automaton slices and word-form blocks put matches across every edge.
    monkeypatch.setattr(engine_module, "_AC_SLICE", 7)
    monkeypatch.setattr(WordForm, "BLOCK", 5)
    watches = [entry("HSJ", "Hôpital Saint-Joseph"), entry("R", "Rennes"), entry("CHU", "CHU de Rennes"),
               entry("X", "x")]
    rng = random.Random(11)
    tokens = ["Hôpital", "saint", "JOSEPH", "-", ", ", "   ", "CHU", "de", "Rennes", "x", "xx", "😀", "é", "\n"]
    text = " ".join(rng.choice(tokens) for _ in range(3000))
    found = list(Matcher(watches).scan(text))
    assert len(found) == len(set(found))  # a match in two slices' overlap is reported once
    assert set(found) == reference_scan(watches, text)
    assert len(found) > 100


def test_scan_many_entries_agrees_with_reference() -> None:
    rng = random.Random(3)
    watches = [entry(f"e{i}", f"{letters(i)} {letters(i * 7 + 1)}", letters(i * 13 + 2)) for i in range(2000)]
    words = [letters(rng.randrange(30_000)) for _ in range(4000)]
    text = ", ".join(words).upper()
    assert set(Matcher(watches).scan(text)) == reference_scan(watches, text)


# ---------------------------------------------------------------- fingerprint


def test_fingerprint_is_stable_and_follows_matching_parts_only() -> None:
    base = [entry("A", "Mediboard", exclude=("tutorial",)), WatchEntry(name="B", regex=("x+",))]
    fp = Matcher(base).fingerprint()
    assert fp == Matcher(list(base)).fingerprint()
    assert re.fullmatch(r"[0-9a-f]{64}", fp)
    same = [WatchEntry(name="A", terms=("Mediboard",), exclude=("tutorial",), severity="critical", chats=("soc",)),
            base[1]]
    assert Matcher(same).fingerprint() == fp
    for changed in ([entry("A", "Mediboard"), base[1]],
                    [entry("A", "Mediboard", exclude=("tutorial",), strict=True), base[1]],
                    [entry("A", "Mediboard2", exclude=("tutorial",)), base[1]],
                    [entry("A", "Mediboard", exclude=("tutorial",), requires=("x",)), base[1]],
                    [base[0], WatchEntry(name="B", regex=("y+",))]):
        assert Matcher(changed).fingerprint() != fp


# ---------------------------------------------------------------- property


WORD = st.text(alphabet="abcdeéèçxyzKLMÔ0123", min_size=1, max_size=8)
NOISE = st.lists(st.sampled_from(list("abc éÉ-_.,'") + ["😀", "ж", "Ω", "\n", "  ", "[dot]", "\u200b"]),
                 max_size=40).map("".join)
SEPARATOR = st.sampled_from([" ", "-", "_", "  ", ". ", "'", " — "])


@settings(max_examples=250, deadline=None)
@given(st.lists(WORD, min_size=1, max_size=4), NOISE, NOISE, st.data())
def test_planted_term_is_found_and_its_offsets_fold_to_the_term(
        words: list[str], before: str, after: str, data: st.DataObject) -> None:
    term = " ".join(words)
    assume(match_form(term))
    planted = "".join(w + (data.draw(SEPARATOR) if i < len(words) - 1 else "") for i, w in enumerate(words))
    spelling = data.draw(st.sampled_from(["same", "upper", "lower"]))
    planted = {"same": planted, "upper": planted.upper(), "lower": planted.lower()}[spelling]
    assume(match_form(planted) == match_form(term))  # e.g. "ß".upper() is "SS": a different word
    text = f"{before} {planted} {after}"
    m = Matcher([entry("T", term)])
    hits = m.match("title", text)
    assert names(hits) == ["T"]
    hit = hits[0]
    assert hit.field == "text"
    assert match_form(text[hit.start:hit.end]) == match_form(term)
    # scan sees the planted occurrence at its exact place
    at = len(before) + 1
    assert ("T", term, at, at + len(planted)) in set(m.scan(text))


# ---------------------------------------------------------------- engines and the compiled-list cache


def test_the_chosen_engine_is_the_one_in_use(engine: str) -> None:
    m = Matcher([entry("Mediboard"), entry("S", "Laboratoire Mémé", strict=True)])
    assert m.engines == [engine, engine]
    assert Matcher([entry("Mediboard")], backend="ahocorasick").engines == ["ahocorasick"]


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError):
        Matcher([entry("Mediboard")], backend="grep")


needs_hyperscan = pytest.mark.skipif(not match_module.hyperscan_available(), reason="hyperscan is not installed")


def bucket_world() -> tuple[list[WatchEntry], str]:
    watches = [entry(f"e{i}", f"Clinique {letters(i)}", f"{letters(i * 3)}-sante.fr") for i in range(300)]
    text = " ; ".join(f"CLINIQUE {letters(i)} x {letters(i * 3).lower()}-sante[.]fr"
                      for i in range(0, 300, 7)) + " Clinique Abc"
    return watches, text


@needs_hyperscan
def test_hyperscan_buckets_are_cached_and_reloaded(engine: str, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setattr(engine_module, "BUCKET_KEYS", 64)       # 600 keys -> 16 buckets
    monkeypatch.setattr(engine_module, "CACHE_MIN_KEYS", 0)
    watches, text = bucket_world()
    reference = set(Matcher(watches, backend="ahocorasick").scan(text))
    assert len(reference) > 80
    cache = tmp_path / "cache"
    first = Matcher(watches, backend="hyperscan", cache_dir=cache)
    engine_1 = first._automata[0].engine
    assert (engine_1.compiled, engine_1.loaded) == (16, 0)
    assert len(list(cache.glob("*.hsdb"))) == 16
    second = Matcher(watches, backend="hyperscan", cache_dir=cache)
    engine_2 = second._automata[0].engine
    assert (engine_2.compiled, engine_2.loaded) == (0, 16)
    assert set(first.scan(text)) == set(second.scan(text)) == reference
    assert first.match("t", text) == second.match("t", text) == Matcher(watches, backend="ahocorasick").match("t", text)
    # One entry changed: only the buckets holding its old and new keys are compiled again.
    edited = list(watches)
    edited[5] = entry("e5", "Clinique Nouvelle", edited[5].terms[1])
    third = Matcher(edited, backend="hyperscan", cache_dir=cache)._automata[0].engine
    assert third.compiled <= 2 and third.loaded >= 14


@needs_hyperscan
def test_a_damaged_cache_file_is_compiled_again(engine: str, monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    monkeypatch.setattr(engine_module, "CACHE_MIN_KEYS", 0)
    watches, text = bucket_world()
    Matcher(watches, backend="hyperscan", cache_dir=tmp_path)
    [cached] = tmp_path.glob("*.hsdb")
    cached.write_bytes(b"not a hyperscan database")
    again = Matcher(watches, backend="hyperscan", cache_dir=tmp_path)
    assert again._automata[0].engine.compiled == 1
    assert set(again.scan(text)) == set(Matcher(watches, backend="ahocorasick").scan(text))
    assert cached.read_bytes() != b"not a hyperscan database"


@needs_hyperscan
def test_an_unwritable_cache_only_costs_time(engine: str, monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    monkeypatch.setattr(engine_module, "CACHE_MIN_KEYS", 0)
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should be")
    m = Matcher([entry("Mediboard")], backend="hyperscan", cache_dir=blocker / "cache")
    assert m.engines == ["hyperscan"]
    assert names(m.match("Mediboard dump", None)) == ["Mediboard"]


@needs_hyperscan
def test_hyperscan_failure_falls_back_to_pyahocorasick(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object, patterns: list[bytes]) -> None:
        raise RuntimeError("compiler exploded")
    monkeypatch.setattr(engine_module.HyperscanEngine, "_compile", broken)
    m = Matcher([entry("Mediboard")], backend="hyperscan", cache_dir=None)
    assert m.engines == ["ahocorasick"]
    assert names(m.match("Mediboard dump", None)) == ["Mediboard"]


@needs_hyperscan
def test_hyperscan_scratch_is_per_thread(engine: str) -> None:
    # Polls match in the executor's threads at the same time: a shared scratch would fail.
    from concurrent.futures import ThreadPoolExecutor

    watches, text = bucket_world()
    m = Matcher(watches, backend="hyperscan", cache_dir=None)
    expected = m.match("t", text)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _i: m.match("t", text), range(16)))
    assert all(r == expected for r in results)


def test_default_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKMON_CACHE_DIR", "/srv/leakmon-cache")
    assert str(match_module.default_cache_dir()) == "/srv/leakmon-cache"
    monkeypatch.setenv("LEAKMON_CACHE_DIR", "")
    assert match_module.default_cache_dir() is None
    monkeypatch.delenv("LEAKMON_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/var/cache/x")
    assert str(match_module.default_cache_dir()) == "/var/cache/x/leakmon"
