"""`leakmon check --fetch --show`: every parsed field of a source's first items, and what produced it.

For html sources each field names the selector (or the preset's rule) it came from, so an analyst
can write selectors for a new forum in minutes; the other kinds name their fields or fixed parser.
Values are shown as they would be stored: mojibake repaired (and said so), one line, cut, and with
anything a terminal could take as a control sequence blanked (scraped text is attacker-written).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from monitor.records import Item
from monitor.repair import repair_text

__all__ = ["SHOW_ITEMS", "show_lines"]

#: Items shown per source.
SHOW_ITEMS = 3
_WIDTH = 100

# What produces each field in the kinds whose parser is fixed.
_FIXED = {
    "telegram": {"item_id": "div.tgme_widget_message[data-post]", "url": "https://t.me/<data-post>",
                 "title": "first line of div.tgme_widget_message_text", "author": "the channel / forwarded-from name",
                 "date": "a.tgme_widget_message_date time[datetime]",
                 "text": "div.tgme_widget_message_text (not the quoted reply)"},
    "rss": {"item_id": "entry id (guid), else link", "url": "entry link", "title": "entry title",
            "author": "entry author", "date": "entry published / updated", "text": "entry summary, HTML stripped"},
    "pastebin": {"item_id": "key", "url": "full_url", "title": "title (else the key)", "author": "user",
                 "date": "date (epoch)", "text": "the raw paste (scrape_url), fetched by `once` only"},
}
_FIELDS = ("item_id", "url", "title", "author", "date", "text")


def _shown(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = "".join(ch if ch.isprintable() else " " for ch in str(value))
    text = " ".join(text.split())
    return text if len(text) <= _WIDTH else text[: _WIDTH - 1] + "…"


def _repaired(value: object, how: str) -> tuple[object, str]:
    if isinstance(value, str):
        fixed = repair_text(value)
        if fixed != value:
            return fixed, f"{how}; mojibake repaired"
    return value, how


def _json_how(opts: Any) -> dict[str, str]:
    fields = dict(getattr(opts, "fields", {}) or {})
    preset = getattr(opts, "preset", None)
    out = {}
    for name in _FIELDS:
        key = "body" if name == "text" else ("id" if name == "item_id" else name)
        if key in fields:
            out[name] = f"fields.{key} = {fields[key]!r}"
        else:
            out[name] = f"preset {preset}" if preset else ("the URL" if name == "item_id" else "-")
    return out


def show_lines(kind: str, opts: Any, page: Any, items: list[Item]) -> list[str]:
    """The lines `check --show` prints for one source's first items."""
    rows: list[dict[str, tuple[object, str]]] = []
    if kind == "html":
        from sources import html

        rows = html.explain(page, opts, SHOW_ITEMS)
    else:
        producers = _json_how(opts) if kind == "json" else _FIXED.get(kind, {})
        for item in items[:SHOW_ITEMS]:
            rows.append({name: (getattr(item, name), producers.get(name, "-")) for name in _FIELDS})
    lines: list[str] = []
    for number, fields in enumerate(rows, 1):
        lines.append(f"      item {number}")
        for name in _FIELDS:
            value, how = fields.get(name, (None, "-"))
            value, how = _repaired(value, how)
            lines.append(f"        {name:<8} {_shown(value)}")
            lines.append(f"        {'':<8}   <- {_shown(how or '-')}")
    return lines
