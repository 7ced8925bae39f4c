"""The fast paths of `leakmon scan` give what the plain ones gave: output lines, contexts, watch entries."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config import WatchEntry, load_config
from monitor.configtypes import WatchFile
from monitor.match import Matcher
from monitor.report import safe_cell
from monitor.scan import decode, scan_file
from monitor.watchconfig import _entries
from tests.test_scan_stream import TOKENS, WATCHES, random_bytes, reference


def expected(matcher: Matcher, data: bytes, path: str, fmt: str) -> str:
    """The output of `scan` as the plain formatter wrote it: one record per hit of one pass."""
    out = io.StringIO()
    if fmt == "csv":
        out.write("line,watch,term,match,context\n")
        writer = csv.writer(out, lineterminator="\n")
    for line in reference(matcher, decode(data), path):
        r = json.loads(line)
        if fmt == "text":
            out.write(f"{path}:{r['line']}: [{r['watch']}] {r['match']!r}: {' '.join(r['context'].split())}\n")
        else:
            writer.writerow([safe_cell(r[k]) for k in r])
    return out.getvalue()


def scanned(matcher: Matcher, path: Path, fmt: str, chunk: int, **window: int) -> str:
    out = io.StringIO()
    scan_file(None, str(path), fmt, out, chunk=chunk, matcher=matcher, **window)  # type: ignore[arg-type]
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["text", "csv"])
@pytest.mark.parametrize("chunk,reserve", [(5, 8), (333, 40), (1 << 20, 1 << 16)])
def test_text_and_csv_output_equal_one_pass(engine: str, tmp_path: Path, fmt: str, chunk: int, reserve: int) -> None:
    matcher = Matcher(WATCHES)
    data = random_bytes(random.Random(chunk + reserve), 3000)
    path = tmp_path / "dump.txt"
    path.write_bytes(data)
    want = expected(matcher, data, str(path), fmt)
    assert want.count("\n") > 100
    assert scanned(matcher, path, fmt, chunk, reserve=reserve, context=81) == want


def test_context_of_hits_on_a_line_of_megabytes(engine: str, tmp_path: Path) -> None:
    # A dump without newlines: the context is cut 80 characters around each hit, as on short lines.
    filler = "lorem ipsum, dolor; " * 60_000
    text = filler + "CHU de Rennes " + filler + "hsj[.]fr x " + filler[:500]
    path = tmp_path / "oneline.txt"
    path.write_bytes(text.encode())
    matcher = Matcher(WATCHES)
    want = expected(matcher, text.encode(), str(path), "text")
    assert [line.split(": ")[1] for line in want.splitlines()] == ["[CHU] 'CHU de Rennes'",
                                                                   "[Rennes sites] 'CHU de Rennes'",
                                                                   "[Any CHU] 'CHU'", "[HSJ] 'hsj[.]fr'", "[X] 'x'"]
    assert scanned(matcher, path, "text", 1 << 20, reserve=4096) == want


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tokens=st.lists(st.one_of(st.sampled_from(TOKENS).map(str.encode), st.binary(max_size=3),
                                 st.sampled_from([b" ", b"-", b"." * 90, b"\n"])), max_size=200),
       chunk=st.integers(1, 64))
def test_text_output_equals_one_pass_hypothesis(engine: str, tmp_path: Path, tokens: list[bytes], chunk: int) -> None:
    data = b"".join(tokens)
    path = tmp_path / "h.txt"
    path.write_bytes(data)
    matcher = Matcher(WATCHES)
    assert scanned(matcher, path, "text", chunk, reserve=8, context=81) == expected(matcher, data, str(path), "text")


def test_context_of_a_hit_read_while_the_text_is_shorter_than_the_context(engine: str, tmp_path: Path) -> None:
    # Read a byte at a time, the text is shorter than the context for a while: the window must
    # wait (a negative end counted from the buffer's end cut the hit's context to 25 dots of 51).
    data = "CHU de RennesHôpitalLaboratoire ".encode() + b"." * 90
    path = tmp_path / "short.txt"
    path.write_bytes(data)
    matcher = Matcher(WATCHES)
    want = expected(matcher, data, str(path), "text")
    assert want.endswith(": [Any CHU] 'CHU': CHU de RennesHôpitalLaboratoire " + "." * 51 + "\n")
    for chunk in (1, 7, 64):
        assert scanned(matcher, path, "text", chunk, reserve=8, context=81) == want


def test_watch_file_entries_equal_constructed_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = WatchFile(path="x.csv", name_column="name", terms_columns=("name", "alias"), kind="establishment",
                     severity="high", chats=("soc",), strict=True)
    rows = [("CH Annecy", ("CH Annecy", "Hôpital d'Annecy")), ("Clinique Étoile", ("Clinique Étoile",))]
    made = _entries(spec, rows)
    built = [WatchEntry(name=name, kind="establishment", terms=terms, severity="high", chats=("soc",), strict=True)
             for name, terms in rows]
    assert made == built
    assert [hash(e) for e in made] == [hash(e) for e in built] and list(map(repr, made)) == list(map(repr, built))
    with pytest.raises(AttributeError):
        made[0].name = "changed"  # type: ignore[misc]  # still frozen
    # Through the config, first parse and cached parse alike.
    monkeypatch.setenv("LEAKMON_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "w.csv").write_text("name,alias\nCH Annecy,Hôpital d'Annecy|CHA\nCHU,\n", encoding="utf-8")
    (tmp_path / "c.toml").write_text('[[watch_file]]\npath = "w.csv"\nterms_columns = ["name", "alias"]\n'
                                     'severity = "high"\n', encoding="utf-8")
    want = (WatchEntry(name="CH Annecy", kind="other", terms=("CH Annecy", "Hôpital d'Annecy", "CHA"),
                       severity="high", chats=("console",)),
            WatchEntry(name="CHU", kind="other", terms=("CHU",), severity="high", chats=("console",)))
    assert load_config(tmp_path / "c.toml").watches == want
    assert list((tmp_path / "cache").glob("*.rows"))
    assert load_config(tmp_path / "c.toml").watches == want
