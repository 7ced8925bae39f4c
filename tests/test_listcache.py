"""The compiled watch list cached as one file: a second start loads it, with the same results."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import monitor.match as match_module
from monitor import matchengine
from monitor.config import WatchEntry
from monitor.match import Matcher

pytestmark = pytest.mark.skipif(not match_module.hyperscan_available(), reason="hyperscan is not installed")


def watches(n: int) -> list[WatchEntry]:
    rng = random.Random(n)
    out = [WatchEntry(name=f"Clinique {i}", terms=(f"Clinique Saint-{i}", f"cl{i}.fr"),
                      requires=("patients",) if i % 7 == 0 else (), exclude=("tutorial",) if i % 11 == 0 else ())
           for i in range(n)]
    out.append(WatchEntry(name="Strict", terms=("Laboratoire Mémé",), strict=True))
    out.append(WatchEntry(name="Re", regex=(r"sec-\d{3}",)))
    rng.shuffle(out)
    return out


TEXT = ("dump Clinique Saint-14 and cl21[.]fr patients, clinique saint 22 tutorial; Laboratoire Mémé sec-123 "
        "CLINIQUE SAINT-7\n") * 3


def test_a_second_start_loads_one_file_with_the_same_results(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    monkeypatch.setattr(match_module, "LIST_CACHE_MIN_PHRASES", 0)
    listed = watches(300)
    reference = Matcher(listed, backend="hyperscan", cache_dir=None)
    first = Matcher(listed, backend="hyperscan", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.list"))) == 1
    second = Matcher(listed, backend="hyperscan", cache_dir=tmp_path)
    engine = second._automata[0].engine
    assert engine is not None and engine.compiled == 0 and second._automata[0].phrases == []
    for m in (first, second):
        assert list(m.scan(TEXT)) == list(reference.scan(TEXT))
        assert m.match("Clinique Saint-14 patients", TEXT) == reference.match("Clinique Saint-14 patients", TEXT)
    assert list(second.scan(TEXT))
    # An edit gives another file; a damaged file is built again.
    edited = listed + [WatchEntry(name="New", terms=("Clinique Saint-22",))]
    third = Matcher(edited, backend="hyperscan", cache_dir=tmp_path)
    assert "New" in {w for w, *_ in third.scan(TEXT)}
    assert len(list(tmp_path.glob("*.list"))) == 2
    for path in tmp_path.glob("*.list"):
        path.write_bytes(b"garbage")
    again = Matcher(listed, backend="hyperscan", cache_dir=tmp_path)
    assert list(again.scan(TEXT)) == list(reference.scan(TEXT))


def test_a_watch_file_is_read_again_when_it_changes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from monitor.config import load_config

    monkeypatch.setenv("LEAKMON_CACHE_DIR", str(tmp_path / "cache"))
    csv_path = tmp_path / "names.csv"
    csv_path.write_text("name,alias\nCHU de Rennes,CHU Rennes\nClinique Sud,\n", encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(f'[[watch_file]]\npath = "{csv_path.as_posix()}"\nterms_columns = ["name", "alias"]\n',
                      encoding="utf-8")
    first = load_config(config).watches
    assert [(w.name, w.terms) for w in first] == [("CHU de Rennes", ("CHU de Rennes", "CHU Rennes")),
                                                  ("Clinique Sud", ("Clinique Sud",))]
    assert len(list((tmp_path / "cache").glob("*.rows"))) == 1
    assert load_config(config).watches == first           # from the cache
    csv_path.write_text("name,alias\nCHU de Nantes,CHU Nantes\nClinique Sud,\n", encoding="utf-8")  # same size
    assert [w.name for w in load_config(config).watches] == ["CHU de Nantes", "Clinique Sud"]


def test_the_config_digest_keys_the_cached_list(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A config's watches_digest stands for its entries (no hash of 100,000 entries at each start):
    # any edit that changes an entry gives another digest, hence another cached list.
    from dataclasses import replace

    from monitor.config import load_config

    monkeypatch.setattr(match_module, "LIST_CACHE_MIN_PHRASES", 0)
    monkeypatch.setenv("LEAKMON_CACHE_DIR", str(tmp_path / "cache"))
    csv_path = tmp_path / "names.csv"
    config = tmp_path / "config.toml"

    def write(rows: str, strict: str = "false", exclude: str = "tutorial") -> None:
        csv_path.write_text("name,alias\n" + rows, encoding="utf-8")
        config.write_text(f'[[watch]]\nname = "Medi"\nterms = ["Mediboard"]\nexclude = ["{exclude}"]\n'
                          f'[[watch_file]]\npath = "{csv_path.as_posix()}"\nterms_columns = ["name", "alias"]\n'
                          f'strict = {strict}\n', encoding="utf-8")

    def hits(text: str) -> list[tuple[str, int, int]]:
        loaded = load_config(config)
        matcher = Matcher(loaded.watches, backend="hyperscan", cache_dir=tmp_path / "lists",
                          watches_digest=loaded.watches_digest())
        found = [(w, s, e) for w, _t, s, e in matcher.scan(text)]
        assert found == [(w, s, e) for w, _t, s, e in Matcher(loaded.watches, backend="hyperscan",
                                                                cache_dir=None).scan(text)]
        return found

    text = "Mediboard dump of CHU de Rennes and CHU de Nantes, Clinique Sud"
    write("CHU de Rennes,CHU Rennes\nClinique Sud,\n")
    first = load_config(config)
    digest = first.watches_digest()
    assert digest is not None and load_config(config).watches_digest() == digest
    assert {w for w, *_ in hits(text)} == {"Medi", "CHU de Rennes", "Clinique Sud"}
    assert len(list((tmp_path / "lists").glob("*.list"))) == 1
    assert {w for w, *_ in hits(text)} == {"Medi", "CHU de Rennes", "Clinique Sud"}    # from the cached list
    # The same size, another name: another digest, another list, the new name found.
    write("CHU de Nantes,CHU Nantes\nClinique Sud,\n")
    assert load_config(config).watches_digest() != digest
    assert {w for w, *_ in hits(text)} == {"Medi", "CHU de Nantes", "Clinique Sud"}
    assert len(list((tmp_path / "lists").glob("*.list"))) == 2
    # Strictness of the file, an inline entry's exclude: each changes the digest.
    digests = {load_config(config).watches_digest()}
    write("CHU de Nantes,CHU Nantes\nClinique Sud,\n", strict="true")
    digests.add(load_config(config).watches_digest())
    write("CHU de Nantes,CHU Nantes\nClinique Sud,\n", exclude="tutoriel")
    digests.add(load_config(config).watches_digest())
    assert len(digests) == 3
    # A list that is not the config's own has no digest: its entries are hashed.
    assert replace(first, watches=first.watches[:1]).watches_digest() is None
    assert replace(first, sources=()).watches_digest() == digest


def test_a_list_of_several_buckets_loads_each_of_them(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # the serialized databases are freed one by one as they load: every bucket must still be there
    monkeypatch.setattr(match_module, "LIST_CACHE_MIN_PHRASES", 0)
    monkeypatch.setattr(matchengine, "BUCKET_KEYS", 64)
    listed = watches(300)
    reference = Matcher(listed, backend="hyperscan", cache_dir=None)
    Matcher(listed, backend="hyperscan", cache_dir=tmp_path)
    second = Matcher(listed, backend="hyperscan", cache_dir=tmp_path)
    engine = second._automata[0].engine
    assert isinstance(engine, matchengine.HyperscanEngine) and engine.compiled == 0
    assert engine.loaded == len(engine.databases) == len(reference._automata[0].engine.databases) >= 8
    assert list(second.scan(TEXT)) == list(reference.scan(TEXT))
    assert second.match("Clinique Saint-14 patients", TEXT) == reference.match("Clinique Saint-14 patients", TEXT)
