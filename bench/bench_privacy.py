"""The cost of privacy: masking an alert, the triage of a post, the masked snippet kept per hit.

    python bench/bench_privacy.py

A post is a leak announcement followed by a sample of N lines (name; e-mail; phone; NIR; IBAN;
card), the shape of the posts leakmon exists for. Prints microseconds per call, best of 5 runs:

- render_alert with and without masking (the difference is what masking adds to each alert);
- triage.assess (once per post that hits, in the store's write transaction);
- privacy.masked_snippet (once per hit).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from monitor.alerts.render import render_alert
from monitor.privacy import masked_snippet
from monitor.records import HitView, Item
from monitor.triage import assess

HEAD = ("Selling a French hospital's patient database, 758 912 patients, via a Mediboard account. "
        "Fields: noms, prénoms, date de naissance, adresse, mutuelle, ordonnances. Sample of the CHU de Rennes "
        "extract:\n")
LINE = "DUPONT;Jean;jean.dupont{n}@gmail.com;06 12 34 {a:02d} {b:02d};1 84 12 76 451 089 46;" \
       "FR76 3000 6000 0112 3456 7890 189;4970 1012 3456 7893\n"


def post(lines: int) -> str:
    return HEAD + "".join(LINE.format(n=i, a=i % 100, b=(i * 7) % 100) for i in range(lines))


def best(func: Callable[[], object], runs: int = 5, inner: int = 20) -> float:
    """Best time of one call, in microseconds."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(inner):
            func()
        times.append((time.perf_counter() - t0) / inner)
    return min(times) * 1e6


def main() -> None:
    for lines in (10, 100, 1000):
        text = post(lines)
        start = text.index("CHU de Rennes")
        item = Item(source="forum", item_id="1", url="http://forum.example/t/1", title="CHU de Rennes 758k", text=text)
        hit = HitView(id=1, watch="CHU de Rennes", kind="establishment", severity="high", terms=("CHU de Rennes",),
                      field="text", start=start, end=start + 13, retro=False,
                      first_seen=datetime(2024, 11, 19, tzinfo=UTC), item=item,
                      triage=assess(item.title, text))
        inner = 20 if lines < 1000 else 3
        masked = best(lambda: render_alert([hit], retro=False), inner=inner)
        plain = best(lambda: render_alert([hit], retro=False, mask=False), inner=inner)
        triage = best(lambda: assess(item.title, text), inner=inner)
        snippet = best(lambda: masked_snippet(text, start, start + 13, ("CHU de Rennes",)), inner=inner)
        print(f"post of {len(text):>7} chars ({lines:>4} sample lines): alert {plain:8.0f} us unmasked, "
              f"{masked:8.0f} us masked (+{masked - plain:.0f} us); triage {triage:9.0f} us; "
              f"kept snippet {snippet:7.0f} us")


if __name__ == "__main__":
    main()
