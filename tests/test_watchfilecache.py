"""The cache of parsed watch files: rows come back exactly as they were saved, or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor import watchfilecache


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEAKMON_CACHE_DIR", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("rows", [
    [("CHU de Rennes", ("CHU de Rennes", "chu-rennes.fr")), ("Clinique Étoile", ("Clinique Étoile",))],
    [],
    [("", ("",))],
    [("A", ()), ("B", ("b", "")), ("C", ())],
    [("line\nbreak", ("x\ny", "z"))],
    [("nul\0inside", ("a",)), ("b", ("c\0d",))],
    [(f"name {i}", tuple(f"t{i}-{j}" for j in range(i % 4))) for i in range(5000)],
])
def test_rows_come_back_as_saved(rows: list[tuple[str, tuple[str, ...]]]) -> None:
    watchfilecache.save("k", rows)
    assert watchfilecache.load("k") == rows


def test_an_unreadable_cache_file_is_no_cache(cache_dir: Path) -> None:
    watchfilecache.save("k", [("a", ("b", "c"))])
    (cache_dir / "k.rows").write_bytes(b"\x00garbage")
    assert watchfilecache.load("k") is None
    import marshal

    for stored in [("a", "b"), (1, 2, 3), ("a\0b", "c", b"\x01\x00\x00\x00"), 42]:
        (cache_dir / "k.rows").write_bytes(marshal.dumps(stored))
        assert watchfilecache.load("k") is None, stored
    assert watchfilecache.load("missing") is None
