"""The text fold, the space collapse and the word form alone: compiled (monitor._textfold) against Python.

    python bench/bench_textfold.py                       # forum, french, cyrillic, sqlline: 40 MB each
    python bench/bench_textfold.py --shapes arabic,csv --mb 4 --runs 5

MB/s of the file's UTF-8 bytes, best and worst of ``--runs`` alternating runs of each side, on
the corpora of ``bench/bench_scan_vary.py`` (``bench/data/vary/``), each text in 4 MB pieces as
``leakmon scan`` reads it. Both sides' outputs are checked equal. Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from common import DATA

from monitor import normalize, textfold, wordform

PIECE = 4 << 20


def _time(step: Callable[[str], object], pieces: list[str]) -> tuple[float, list[object]]:
    start = time.perf_counter()
    out = [step(p) for p in pieces]
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", default="forum,french,cyrillic,sqlline")
    parser.add_argument("--mb", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not textfold.LOADED:
        raise SystemExit("monitor._textfold is not built: python setup.py build_ext --inplace")
    table = normalize._TABLE
    steps = {
        "fold": (normalize._FOLDERS[table].translate,
                 lambda t: normalize._translate_py(t, table, normalize._MAPS[table])),
        "collapse": (textfold.collapse, wordform._collapse_py),
        "word form": (lambda f: textfold.word_form(f, wordform.WordForm.BLOCK),
                      lambda f: wordform._word_form_py(f, wordform.WordForm.BLOCK)),
    }
    results = {}
    for shape in args.shapes.split(","):
        raw = (DATA / "vary" / f"{shape}-{args.mb}mb.txt").read_bytes()
        text = raw.decode("utf-8", "replace")
        pieces = [text[i:i + PIECE] for i in range(0, len(text), PIECE)]
        folded = [normalize.fold(p) for p in pieces]
        mb = len(raw) / 1e6
        for name, (native, python) in steps.items():
            inputs = pieces if name == "fold" else folded
            seconds: dict[str, list[float]] = {"C": [], "Python": []}
            for _ in range(args.runs):
                for side, step in (("C", native), ("Python", python)):
                    took, out = _time(step, inputs)
                    seconds[side].append(took)
                    if side == "C":
                        want = out
                    else:
                        assert out == want, (shape, name)
            figures = {side: (mb / max(s), mb / min(s)) for side, s in seconds.items()}
            results[f"{shape} {name}"] = figures
            print(f"{shape:9} {name:9} {mb:6.1f} MB  C {figures['C'][0]:7.0f}-{figures['C'][1]:7.0f} MB/s"
                  f"  Python {figures['Python'][0]:5.0f}-{figures['Python'][1]:5.0f} MB/s"
                  f"  x{min(seconds['Python']) / min(seconds['C']):.1f}")
    print("RESULT " + json.dumps({"bench": "textfold", "mb_per_s": results}))


if __name__ == "__main__":
    main()
