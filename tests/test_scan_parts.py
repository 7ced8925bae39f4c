"""`leakmon scan` of a big file in parts (forked processes): the output of one pass, in file order."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from monitor import scanparts
from monitor.config import WatchEntry
from monitor.match import Matcher
from monitor.scan import decode, scan_file
from tests.test_scan_stream import WATCHES, random_bytes, reference


def scanned(matcher: Matcher, path: Path, fmt: str = "json", **kwargs: int) -> tuple[list[str], int]:
    out = io.StringIO()
    count = scan_file(None, str(path), fmt, out, matcher=matcher, **kwargs)  # type: ignore[arg-type]
    return out.getvalue().split("\n")[:-1], count


def sql_line(rng: random.Random, rows: int) -> bytes:
    """A dump without newlines: one INSERT of every row (cuts fall on other separators)."""
    names = ["Hôpital Saint-Joseph", "CHU de Rennes", "Mediboard", "Clinique Étoile", "n/a", "chu-rennes[.]fr"]
    values = [f"('{i}','{rng.choice(names)}','{rng.randrange(10**6)}@free.fr')" for i in range(rows)]
    return ("INSERT INTO patients VALUES " + ",".join(values) + ";").encode()


@pytest.mark.parametrize("parts", [2, 3, 4])
@pytest.mark.parametrize("shape", ["lines", "sqlline"])
def test_parts_give_the_output_of_one_pass(engine: str, tmp_path: Path, parts: int, shape: str) -> None:
    rng = random.Random(parts * 7 + len(shape))
    data = random_bytes(rng, 6000) if shape == "lines" else sql_line(rng, 3000)
    path = tmp_path / "dump.txt"
    path.write_bytes(data)
    matcher = Matcher(WATCHES)
    plan = scanparts.plan(str(path), parts, min_part=1)
    assert plan is not None and len(plan) == parts
    if shape == "sqlline":
        assert b"\n" not in data
    expected = reference(matcher, decode(data), str(path))
    assert len(expected) > 300
    lines, count = scanned(matcher, path, parts=parts, min_part=1)
    assert count == len(lines)
    assert lines == expected
    text, _ = scanned(matcher, path, "text", parts=parts, min_part=1)
    assert text == scanned(matcher, path, "text", parts=1)[0]


def test_each_part_owns_its_bytes_once(tmp_path: Path) -> None:
    data = b"".join(f"line {n} of the dump, with words\n".encode() for n in range(20000))
    path = tmp_path / "d.txt"
    path.write_bytes(data)
    plan = scanparts.plan(str(path), 4, min_part=1)
    assert plan is not None and len(plan) == 4
    assert plan[0].own_start == 0 and plan[-1].own_end == len(data)
    for before, after in zip(plan, plan[1:], strict=False):
        assert before.own_end == after.own_start                 # nothing owned twice or never
        assert data[after.own_start - 1:after.own_start] == b"\n"  # cut after a newline
        assert after.lead < after.own_start < before.read_end
        assert data[after.lead - 1:after.lead] in (b" ", b"\n", b",")
    assert scanparts.plan(str(path), 1, min_part=1) is None
    assert scanparts.plan(str(path), 4, min_part=len(data)) is None     # too small to cut


def test_whole_file_meaning_of_exclude_and_requires_across_parts(engine: str, tmp_path: Path) -> None:
    # "patients" only in the first part lets every Clinique hit fire, in all parts; "tutorial" only
    # in the last part silences every Mediboard hit, in all parts.
    body = "Mediboard dump\nClinique Étoile\n" * 3000
    data = ("patients\n" + body + "x " * 100 + "\n" + body + "a tutorial\n").encode()
    path = tmp_path / "big.txt"
    path.write_bytes(data)
    matcher = Matcher(WATCHES)
    lines, count = scanned(matcher, path, parts=3, min_part=1)
    found = [json.loads(line) for line in lines]
    assert {f["watch"] for f in found} == {"Clinic", "X"}
    assert sum(f["watch"] == "Clinic" for f in found) == 6000 == count - 100
    assert lines == reference(matcher, decode(data), str(path))


def test_a_part_whose_process_fails_is_scanned_again_here(engine: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    data = random_bytes(random.Random(5), 6000)
    path = tmp_path / "dump.txt"
    path.write_bytes(data)
    matcher = Matcher(WATCHES)
    expected = reference(matcher, decode(data), str(path))

    def dies(*_args: object) -> None:
        os._exit(9)          # as if killed half-way (what it wrote is thrown away)

    monkeypatch.setattr(scanparts, "_child_main", dies)
    lines, count = scanned(matcher, path, parts=3, min_part=1)
    assert (lines, count) == (expected, len(expected))


def test_the_csv_header_once_and_lines_exact_across_parts(engine: str, tmp_path: Path) -> None:
    rows = [f"{n},filler text {n}" for n in range(30000)]
    for n in (5, 14999, 15000, 15001, 29999):
        rows[n] = f"{n},CHU de Rennes leak"
    path = tmp_path / "rows.csv"
    path.write_bytes(("\n".join(rows) + "\n").encode())
    out = io.StringIO()
    count = scan_file(None, str(path), "csv", out, matcher=Matcher([WatchEntry(name="CHU", terms=("CHU de Rennes",))]),
                      parts=4, min_part=1)  # type: ignore[arg-type]
    got = out.getvalue().splitlines()
    assert got[0] == "line,watch,term,match,context" and count == 5
    assert [int(line.split(",")[0]) for line in got[1:]] == [6, 15000, 15001, 15002, 30000]


def test_workers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(scanparts.WORKERS_ENV, "1")
    assert scanparts.workers() == 1
    monkeypatch.setenv(scanparts.WORKERS_ENV, "3")
    assert scanparts.workers() == 3
    monkeypatch.delenv(scanparts.WORKERS_ENV)
    assert scanparts.workers() == min(2, os.cpu_count() or 1)


def test_a_name_cut_in_two_by_the_cut_is_found_once(engine: str, tmp_path: Path) -> None:
    # The middle of the file falls inside "CHU de Rennes" and no newline is near: the cut is after
    # "CHU ", the first part owns the hit and reads past the cut to complete it.
    head = b"x, " * 1000
    data = head + b"CHU de Rennes" + b" y" * 1496
    assert len(data) // 2 == len(head) + 2
    path = tmp_path / "cut.txt"
    path.write_bytes(data)
    plan = scanparts.plan(str(path), 2, min_part=1)
    assert plan is not None and plan[1].own_start == len(head) + 4          # "de Rennes..."
    matcher = Matcher(WATCHES)
    lines, _ = scanned(matcher, path, parts=2, min_part=1)
    found = [(f["watch"], f["match"]) for f in map(json.loads, lines) if f["watch"] != "X"]
    assert found == [("CHU", "CHU de Rennes"), ("Rennes sites", "CHU de Rennes"), ("Any CHU", "CHU")]
    assert lines == reference(matcher, decode(data), str(path))


def test_scan_command_on_two_cores_prints_what_one_prints(tmp_path: Path) -> None:
    # The real command on a file big enough to be cut (2 x MIN_PART), its output on a pipe.
    config = tmp_path / "config.toml"
    config.write_text('[[watch]]\nname = "CHU"\nterms = ["CHU de Rennes", "Hôpital Sud"]\n'
                      '[[watch]]\nname = "Medi"\nterms = ["Mediboard"]\nexclude = ["tutorial"]\n', encoding="utf-8")
    filler = b"filler line of a dump, 0123456789\n"
    half = (scanparts.MIN_PART + len(filler)) // len(filler)
    data = (b"Mediboard \xff H\xc3\xb4pital Sud\n" + filler * (half - 1) + b"le CHU de Rennes\n" + filler * half
            + b"CHU de Rennes at the end, Mediboard\n")
    path = tmp_path / "dump.txt"
    path.write_bytes(data)
    assert scanparts.plan(str(path), 2) is not None
    outputs = []
    for workers in ("2", "1"):
        env = {**os.environ, "LEAKMON_TELEGRAM_TOKEN": "", "LEAKMON_CACHE_DIR": "",
               scanparts.WORKERS_ENV: workers}
        done = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "scan", "--format", "csv",
                               str(path)], capture_output=True, env=env, check=False, timeout=120)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.decode())
    assert outputs[0] == outputs[1]
    lines = outputs[0].splitlines()
    assert lines[0] == "line,watch,term,match,context"
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["1", "Medi"], ["1", "CHU"], [str(half + 1), "CHU"], [str(2 * half + 2), "CHU"], [str(2 * half + 2), "Medi"]]
