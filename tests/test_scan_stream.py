"""`leakmon scan` in chunks: the same hits, lines and contexts as one pass over the whole text."""

from __future__ import annotations

import bisect
import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config import WatchEntry
from monitor.match import Matcher
from monitor.scan import decode, read_chunks, scan_file
from monitor.scanstream import StreamScanner

WATCHES = [
    WatchEntry(name="HSJ", terms=("Hôpital Saint-Joseph", "hsj.fr")),
    WatchEntry(name="CHU", terms=("CHU de Rennes", "chu-rennes.fr")),
    WatchEntry(name="Medi", terms=("Mediboard",), exclude=("tutorial",)),
    WatchEntry(name="Clinic", terms=("Clinique Étoile",), requires=("patients",)),
    WatchEntry(name="Strict", terms=("Laboratoire Mémé",), strict=True),
    WatchEntry(name="Re", regex=(r"sec-\d{3}",)),
    WatchEntry(name="X", terms=("x",)),
    # Hits of several entries at one place (a shared alias), and at one start with other ends.
    WatchEntry(name="Rennes group", terms=("chu-rennes.fr", "CHU Pontchaillou")),
    WatchEntry(name="Rennes sites", terms=("CHU de Rennes",)),
    WatchEntry(name="Any CHU", terms=("CHU",)),
]
TOKENS = ["Hôpital", "HOPITAL", "saint", "Joseph", "-", ", ", "   ", "CHU", "de", "Rennes", "chu-rennes[dot]fr",
          "hsj[.]fr", "Mediboard", "MÉDIBOARD", "tutorial", "Clinique", "étoile", "ETOILE", "patients", "Laboratoire",
          "Mémé", "meme", "sec-123", "x", "xx", "😀", "é", "\n", "\n\n", "e\u0301", "medi\u200bboard", "[dot]", "(",
          ")", "—", "\t", "'", "-----", "d'", "Laboratoire Mémé", "Hôpital Saint-Joseph", "CHU de Rennes",
          "Clinique Étoile", "Mediboаrd", "Сlinique", "Ωmega"]


def reference(matcher: Matcher, text: str, path: str) -> list[str]:
    """The output of the former in-memory `scan` (one pass over the whole text), as JSON lines."""
    newlines = [i for i, ch in enumerate(text) if ch == "\n"]
    out = []
    for watch, term, start, end in matcher.scan(text):
        line = bisect.bisect_right(newlines, start) + 1
        line_start = newlines[line - 2] + 1 if line >= 2 else 0
        line_end = newlines[line - 1] if line - 1 < len(newlines) else len(text)
        context = text[max(line_start, start - 80): min(line_end, end + 80)].strip()
        out.append(json.dumps({"line": line, "watch": watch, "term": term, "match": text[start:end],
                               "context": context}, ensure_ascii=False))
    return out


def streamed(matcher: Matcher, path: Path, chunk: int, **window: int) -> list[str]:
    out = io.StringIO()
    count = scan_file(None, str(path), "json", out, chunk=chunk, matcher=matcher, **window)  # type: ignore[arg-type]
    # JSON lines end at "\n" only: splitlines() would also cut at U+0085 or U+2028 inside a context
    lines = out.getvalue().split("\n")[:-1]
    assert count == len(lines)
    return lines


def random_bytes(rng: random.Random, tokens: int, invalid: bool = True) -> bytes:
    parts = []
    for _ in range(tokens):
        if invalid and rng.random() < 0.03:
            parts.append(bytes([rng.choice([0xE9, 0xFF, 0xC3, 0x80, 0xE2])]))
        else:
            parts.append(rng.choice(TOKENS).encode("utf-8"))
        parts.append(rng.choice([b" ", b"", b"\n", b" - "]))
    return b"".join(parts)


@pytest.mark.parametrize("chunk,reserve", [(1, 1), (3, 8), (7, 40), (64, 16), (1000, 300)])
def test_streaming_equals_one_pass(engine: str, tmp_path: Path, chunk: int, reserve: int) -> None:
    matcher = Matcher(WATCHES)
    rng = random.Random(chunk * 31 + reserve)
    data = random_bytes(rng, 2500)
    path = tmp_path / "dump.txt"
    path.write_bytes(data)
    expected = reference(matcher, decode(data), str(path))
    assert len(expected) > 100
    assert {json.loads(line)["watch"] for line in expected} >= {"HSJ", "CHU", "Re", "X", "Strict"}
    assert streamed(matcher, path, chunk, reserve=reserve, context=81) == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.lists(st.one_of(st.sampled_from(TOKENS).map(str.encode), st.binary(max_size=3),
                               st.sampled_from([b" ", b"\n", b"-", b"."])), max_size=300).map(b"".join),
       chunk=st.integers(1, 40), reserve=st.integers(1, 50))
def test_streaming_equals_one_pass_hypothesis(engine: str, tmp_path: Path, data: bytes, chunk: int,
                                              reserve: int) -> None:
    matcher = Matcher(WATCHES)
    path = tmp_path / "h.txt"
    path.write_bytes(data)
    assert "".join(read_chunks(str(path), chunk)) == decode(data)
    assert streamed(matcher, path, chunk, reserve=reserve, context=81) == reference(matcher, decode(data), str(path))


def test_a_character_split_across_chunks(engine: str, tmp_path: Path) -> None:
    # "Hôpital": the two bytes of "ô" fall in two chunks.
    data = "Hôpital Saint-Joseph".encode()
    assert data.index("ô".encode()) == 1
    path = tmp_path / "split.txt"
    path.write_bytes(data)
    assert list(read_chunks(str(path), 2))[:2] == ["H", "ôp"]     # chunks b"H\xc3", b"\xb4p"
    found = [json.loads(line) for line in streamed(Matcher(WATCHES), path, 2, reserve=1, context=81)]
    assert [(f["watch"], f["match"]) for f in found] == [("HSJ", "Hôpital Saint-Joseph")]


def test_an_invalid_byte_stays_local(engine: str, tmp_path: Path) -> None:
    # One byte that is not UTF-8 near an accented name: the name is still read as UTF-8.
    data = b"id;nom\n1;\xff;Clinique \xc3\x89toile patients\n2;H\xc3\xb4pital Saint-Joseph\n"
    path = tmp_path / "mixed.txt"
    path.write_bytes(data)
    text = decode(data)
    assert "ÿ" in text and "Étoile" in text and "Hôpital" in text
    for chunk in (1, 5, 1 << 20):
        found = [json.loads(line) for line in streamed(Matcher(WATCHES), path, chunk, reserve=4, context=81)]
        assert [(f["line"], f["match"]) for f in found] == [(2, "Clinique Étoile"), (3, "Hôpital Saint-Joseph")]


def test_a_term_across_a_chunk_boundary_and_exact_lines(engine: str, tmp_path: Path) -> None:
    lines = [f"line {n} filler text" for n in range(5000)]
    lines[1234] = "dump of CHU de\n   Rennes patients"       # the term spans a line break
    lines[4321] = "again chu-rennes[dot]fr here"
    data = "\n".join(lines).encode()
    path = tmp_path / "lines.txt"
    path.write_bytes(data)
    at = data.index(b"CHU de")
    for chunk in (at + 4, at + 7, 4096, 333):           # cuts inside "CHU de Rennes"
        found = [json.loads(line) for line in streamed(Matcher(WATCHES), path, chunk, reserve=64, context=81)]
        assert [(f["line"], f["match"]) for f in found if f["watch"] == "CHU"] == [(1235, "CHU de\n   Rennes"),
                                                                                  (4323, "chu-rennes[dot]fr")]
        assert found == [json.loads(line) for line in reference(Matcher(WATCHES), decode(data), str(path))]


def test_whole_file_meaning_of_exclude_and_requires(engine: str, tmp_path: Path) -> None:
    # "tutorial" at the very end excludes every Mediboard hit; "patients" at the end lets Clinique fire.
    data = ("Mediboard dump\nClinique Étoile\n" * 2000 + "x " * 5000 + "a tutorial with patients\n").encode()
    path = tmp_path / "big.txt"
    path.write_bytes(data)
    found = [json.loads(line) for line in streamed(Matcher(WATCHES), path, 1000, reserve=100, context=81)]
    assert {f["watch"] for f in found} == {"Clinic", "X"}
    assert sum(f["watch"] == "Clinic" for f in found) == 2000
    assert found == [json.loads(line) for line in reference(Matcher(WATCHES), decode(data), str(path))]


def test_memory_stays_bounded_on_a_file_without_separators(engine: str, tmp_path: Path) -> None:
    # An endless word, then endless punctuation: the window is cut anyway at ``cap``.
    scanner = StreamScanner(Matcher(WATCHES), reserve=16, cap=1000)
    longest = 0
    for piece in ["a" * 300] * 40 + ["-" * 300] * 40 + [" Mediboard x\n"]:
        list(scanner.feed(piece))
        longest = max(longest, len(scanner._buf))
    found = [(o.line, o.match) for o in scanner.finish()]
    assert longest < 2000
    assert found == [(1, "Mediboard"), (1, "x")]


def test_scan_reads_stdin_in_chunks(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[watch]]\nname = "CHU"\nterms = ["CHU de Rennes", "Hôpital Sud"]\n', encoding="utf-8")
    # Over one 8 MB chunk; a byte that is not UTF-8 before an accented name, on the same line.
    data = (b"\xff H\xc3\xb4pital Sud\n" + b"filler line\n" * 800_000
            + b"le CHU de Rennes et le \xc3\xa9\n")
    env = {**os.environ, "LEAKMON_TELEGRAM_TOKEN": "", "LEAKMON_CACHE_DIR": ""}
    done = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "scan", "--format", "json", "-"],
                          input=data, capture_output=True, env=env, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    found = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [(f["line"], f["match"], f["context"]) for f in found] == [
        (1, "Hôpital Sud", "ÿ Hôpital Sud"), (800_002, "CHU de Rennes", "le CHU de Rennes et le é")]
