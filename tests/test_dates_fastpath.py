"""MyBB's date format is read without strptime: the same datetime as the general path, or the
general path's answer when the fast one declines."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sources.dates import _general_date, _mybb_date, _parse_date, parse_date

FIXTURES = Path(__file__).parent / "fixtures"


def test_the_fast_path_reads_mybb_dates_as_the_general_path_does() -> None:
    for value in ("11-20-2024, 10:15 PM", "01-01-2025, 12:00 AM", "12-31-1999, 12:59 PM", "02-29-2024, 01:05 AM"):
        assert _mybb_date(value) is not None
        assert _mybb_date(value) == _general_date(value), value


def test_every_date_in_the_fixtures_reads_the_same() -> None:
    values = set()
    for path in FIXTURES.rglob("*.html"):
        text = path.read_text(encoding="utf-8", errors="replace")
        values.update(re.findall(r'title="([^"]{4,40})"', text))
        values.update(re.findall(r">([^<>]{4,40})<", text))
    assert any(_mybb_date(v) for v in values)      # the fixtures do hold MyBB dates
    for value in values:
        assert _parse_date(" ".join(value.split()) or "x") == _general_date(" ".join(value.split()) or "x"), value


_num = st.integers(min_value=0, max_value=99).map(lambda n: f"{n:02d}")
_mybb_like = st.builds(lambda m, d, y, h, mi, p, sep: f"{m}-{d}-{y}{sep}{h}:{mi} {p}",
                       _num, _num, st.sampled_from(["0000", "1970", "2024", "2099", "9999"]), _num, _num,
                       st.sampled_from(["AM", "PM", "am", "pm", "XM"]), st.sampled_from([", ", " ", ","]))


@settings(max_examples=1500, deadline=None)
@given(value=_mybb_like)
def test_any_mybb_shaped_value_reads_as_the_general_path_reads_it(value: str) -> None:
    assert _parse_date(value) == _general_date(value)
    assert parse_date(value) == _general_date(value)


def test_listing_rows_of_every_fixture_and_preset_read_the_same(monkeypatch) -> None:
    """row_fields of every row of every html fixture, under every preset: the same fields with the
    fast date path as with the general one."""
    from sources import common, dates, html
    from sources.html_rows import row_fields
    from tests.support.sources import options

    def fields_of_every_row() -> list:
        out = []
        for path in sorted(FIXTURES.rglob("*.html")):
            tree = common.decode_html(path.read_bytes(), None)
            for name, preset in html.PRESETS.items():
                opts = options("html", "http://forum.example.onion/Forum-x", preset=name)
                for row in tree.css(opts.selectors.item):
                    out.append((path.name, name, row_fields(row, "http://forum.example.onion/Forum-x", opts, preset)))
        return out

    fast = fields_of_every_row()
    monkeypatch.setattr(dates, "_parse_date", dates._general_date)
    slow = fields_of_every_row()
    assert fast == slow
    assert sum(1 for _, _, fields in fast if fields and fields["date"][0] is not None) > 5
