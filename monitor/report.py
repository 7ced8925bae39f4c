"""Output formats for the operator commands: tables, JSON and formula-safe CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from tabulate import tabulate

from monitor.repair import hit_lookalike

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with a Z, or None."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def safe_cell(value: Any) -> Any:
    """A scraped string must not become a spreadsheet formula: prefix risky cells with '."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """CSV with a header; every cell neutralised against formula injection."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(_flat(row.get(col))) for col in columns])
    return out.getvalue()


def _flat(value: Any) -> Any:
    if isinstance(value, dict):
        return "; ".join(f"{k} x{v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def to_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], widths: dict[str, int] | None = None) -> str:
    """A plain text table for a terminal (tabulate's "simple" layout, every cell left-aligned as
    text); long cells are shortened with an ellipsis."""
    widths = widths or {}
    cells = [[_short(_flat(row.get(col)), widths.get(col, 60)) for col in columns] for row in rows]
    table = tabulate(cells, headers=list(columns), tablefmt="simple", disable_numparse=True, stralign="left")
    return "\n".join(line.rstrip() for line in table.splitlines())


def _short(value: Any, width: int) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def hit_rows(hits: Iterable[Any], *, mask: bool = True) -> list[dict[str, Any]]:
    """HitView -> the public record of `hits` and `export`.

    ``records`` and ``data`` are the triage of the item (claimed record count, kinds of personal
    data seen or claimed), ``data_seen`` the counts found in its sample. Title, author and
    snippet have their personal data masked unless ``mask`` is False (local forensic use).
    """
    from monitor.privacy import mask_text, masked_snippet
    from monitor.triage import assess

    rows = []
    for h in hits:
        item = h.item
        terms = list(h.terms)
        triage = h.triage or assess(item.title, item.text)
        source_text = (item.text if h.field == "text" else item.title) or ""
        if mask:
            snippet = h.snippet or (masked_snippet(source_text, h.start, h.end, terms) if source_text else "")
            title, author = mask_text(item.title or "", terms), mask_text(item.author or "", terms) or None
        else:
            snippet = masked_snippet(source_text, h.start, h.end, terms, mask=False) if source_text else h.snippet
            title, author = item.title, item.author
        rows.append({
            "id": h.id, "watch": h.watch, "kind": h.kind, "severity": h.severity,
            "term": h.terms[0] if h.terms else None, "terms": terms,
            "source": item.source, "item_id": item.item_id, "url": item.url, "title": title,
            "author": author, "date": iso(item.date), "first_seen": iso(h.first_seen),
            "retro": bool(h.retro), "false_positive": bool(getattr(h, "false_positive", False)),
            # triage: claimed records, kinds of personal data seen or claimed (counts of those seen)
            "records": triage.records, "data": triage.data, "data_seen": dict(triage.seen),
            "snippet": snippet or "",
            # the match went through lookalike letters (Cyrillic or Greek in a Latin word)
            "lookalike": hit_lookalike(h),
            # repost grouping: the group is named by its first hit; repost_of is None on that one
            "repost_of": getattr(h, "repost_of", None),
            "group": getattr(h, "repost_of", None) or h.id,
        })
    return rows


HIT_COLUMNS = ("id", "first_seen", "severity", "watch", "term", "source", "title", "url", "records", "data",
               "retro", "false_positive", "group")
