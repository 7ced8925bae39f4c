"""One listing row of an html source -> its fields, each with the selector (or rule) that produced it.

The parser (:func:`sources.html.parse_listing`) builds its items from these fields, and
`leakmon check --fetch --show` prints them with their provenance: one code path for both.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sources.common import (
    absolute_url,
    attr,
    html_text,
    line_text,
    one_line,
    origin_of,
)
from sources.dates import add_time_of_day, parse_date
from sources.selectors import full_title, parse_selector

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

    from sources.html_options import Options, Preset

__all__ = ["Field", "row_fields"]

#: One parsed field: (value, where it came from).
Field = tuple[object, str]


def _pick(row: LexborNode, selector: str, last: bool) -> LexborNode | None:
    if not last:
        return row.css_first(selector)
    matches = row.css(selector)
    return matches[-1] if matches else None


def row_fields(row: LexborNode, page_url: str, opts: Options, preset: Preset | None) -> dict[str, Field] | None:
    """Every field of one listing row with the selector (or rule) that produced it; None when the
    row has no title or link (not an item)."""
    sel = opts.selectors
    # "Last match" is the preset's knowledge of its own selector; an override is taken as written.
    last = preset is not None and preset.title_last
    title_sel = parse_selector(sel.title)
    title_node = _pick(row, title_sel.css, last and preset is not None and sel.title == preset.selectors.get("title"))
    if title_node is None:
        return None
    how_title = sel.title
    if title_sel.attr:
        title = one_line(attr(title_node, title_sel.attr) or "")
    else:
        title = line_text(title_node)
        whole = full_title(title, title_node) if preset is not None and preset.full_title else None
        if whole:
            title, how_title = whole, f"the title attribute of {title_sel.css} (the visible text is cut)"
    link_sel = parse_selector(sel.link)
    link_node: LexborNode | None
    if link_sel.css == title_sel.css:
        link_node = title_node
    else:
        link_node = _pick(row, link_sel.css,
                          last and preset is not None and sel.link == preset.selectors.get("link"))
    url = absolute_url(page_url, attr(link_node, link_sel.attr or "href"))
    if not title or url is None or link_node is None:
        return None
    item_id = preset.item_id(row, link_node, url) if preset and preset.item_id else None
    how_id = f"{opts.preset} id rule" if item_id is not None else "the link (canonical URL)"
    if item_id is None:
        if preset is not None and preset.id_required:
            return None
        item_id = url
    author, how_author = None, ""
    if preset and preset.author_attr:
        author, how_author = attr(row, preset.author_attr), f"row attribute {preset.author_attr}"
    if author is None and sel.author:
        author_sel = parse_selector(sel.author)
        node = row.css_first(author_sel.css)
        author = ((attr(node, author_sel.attr) if author_sel.attr else line_text(node).strip(" ,;·|")) or None)
        how_author = sel.author
    date, how_date = None, ""
    if sel.date:
        date_sel = parse_selector(sel.date)
        node = row.css_first(date_sel.css)
        if date_sel.attr:
            date, how_date = parse_date(attr(node, date_sel.attr)), sel.date
            if date is not None and date_sel.attr == "title":   # MyBB: the day in the attribute, the time in the text
                date = add_time_of_day(date, line_text(node))
        else:
            date, how_date = _node_date(node, date_sel.css)
    body_url = url
    if preset is not None and preset.raw_body:
        body_url = f"{origin_of(url)}/raw/{item_id}"
    return {"item_id": (item_id, how_id), "url": (url, f"{sel.link} (href)" if not link_sel.attr else sel.link),
            "title": (title, how_title), "author": (author, how_author), "date": (date, how_date),
            "text": (html_text(row), f"{sel.item} (the row's text; the body when followed)"),
            "body_url": (body_url, "the item URL" if body_url == url else "origin + /raw/<id>")}


_DATE_ATTRS = ("datetime", "data-time", "data-timestamp", "title", "data-date")


def _node_date(node: LexborNode | None, selector: str = "") -> tuple[datetime | None, str]:
    """The date an element shows: an exact attribute (``datetime``, MyBB's ``title``) before its
    text ("Less than 1 minute ago"); with where it was read."""
    if node is None:
        return None, ""
    candidates = [node, *node.css("[datetime], [data-time], [title]")]
    for candidate in candidates:
        attributes = candidate.attributes      # built once per element, not once per name
        for name in _DATE_ATTRS:
            value = (attributes.get(name) or "").strip()     # as attr(): stripped, empty = missing
            moment = parse_date(value) if value else None
            if moment is not None:
                where = f"{selector} -> {'' if candidate is node else candidate.tag or ''}[{name}]"
                return (add_time_of_day(moment, line_text(node)) if name == "title" else moment), where
    return parse_date(line_text(node)), f"{selector} (text)"
