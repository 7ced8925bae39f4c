"""JSON APIs: a list of records somewhere in a document, each record mapped to an item.

``items`` is the dotted path to the list (``""`` or ``"."``: the document is the list;
``"data.victims"``; a number indexes a list). ``fields`` maps ``id, title, url, body, date,
author`` to dotted paths inside a record. Presets map known APIs (ransomware.live, RansomLook,
HaveIBeenPwned, ransomwatch); ``fields`` given with a preset override single fields of it.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from monitor.errors import ConfigError, ParseError
from monitor.records import Item
from sources.common import (
    absolute_url,
    markup_to_text,
    one_line,
    origin_of,
    records_to_items,
    stable_id,
)
from sources.dates import parse_date
from sources.pagechecks import load_json
from sources.parsepool import in_worker

if TYPE_CHECKING:
    from monitor.fetch import Page
    from monitor.sourceconfig import SourceConfig
    from sources.contract import PageFetcher, SourceState

KIND = "json"
FIELD_KEYS = ("id", "title", "url", "body", "date", "author")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    """Typed parameters of a json source."""

    source: str
    url: str
    items: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)
    preset: str | None = None


@dataclass
class Record:
    """The item-shaped values read from one record, before they become an Item."""

    id: str | None = None
    title: str = ""
    url: str | None = None
    body: str = ""
    date: str | None = None
    author: str | None = None


# ---------------------------------------------------------------- values

def _scalar(value: Any) -> str | None:
    """A record value as a string: strings and numbers; None for anything else or empty."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def _lines(value: Any) -> str | None:
    """A value for a body: a scalar, or the scalars of a list one per line."""
    if isinstance(value, list):
        parts = [s for s in (_scalar(v) for v in value) if s]
        return ", ".join(parts) or None
    return _scalar(value)


def lookup(document: Any, path: str) -> Any:
    """The value at a dotted path, or None when any step is missing."""
    current = document
    for part in _steps(path):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def _steps(path: str) -> list[str]:
    path = path.strip()
    if path in ("", "."):
        return []
    return [part for part in path.split(".") if part != ""]


def _title(value: str | None) -> str:
    """A title: entities unescaped once (``&amp;`` -> ``&``), one line. Tags stay literal text."""
    return one_line(html.unescape(value)) if value else ""


def _day(value: str | None) -> str:
    """The date part of a timestamp, for ids that must not change with a re-scraped time of day."""
    moment = parse_date(value)
    return moment.date().isoformat() if moment else (value or "")


def _join(*parts: str | None) -> str:
    return "\n".join(p for p in parts if p)


# ---------------------------------------------------------------- presets

def _ransomware_live(rec: dict[str, Any], api_url: str) -> Record:
    """ransomware.live: the v2 recentvictims fields, or the legacy posts.json ones."""
    title = _title(_scalar(rec.get("victim")) or _scalar(rec.get("post_title")))
    group = _scalar(rec.get("group")) or _scalar(rec.get("group_name"))
    discovered = _scalar(rec.get("discovered"))
    labelled = [(label, _scalar(rec.get(key))) for label, key in
                (("Domain", "domain"), ("Country", "country"), ("Activity", "activity"))]
    body = _join(markup_to_text(_scalar(rec.get("description")) or ""),
                 *(f"{label}: {value}" for label, value in labelled if value))
    url = (_scalar(rec.get("claim_url")) or _scalar(rec.get("url")) or _scalar(rec.get("post_url"))
           or api_url)
    own_id = _scalar(rec.get("id"))
    return Record(id=own_id or f"{group or ''}|{title}|{_day(discovered)}", title=title, url=url, body=body,
                  date=_scalar(rec.get("attackdate")) or _scalar(rec.get("published")) or discovered,
                  author=group)


def _ransomlook(rec: dict[str, Any], api_url: str) -> Record:
    """RansomLook /api/recent: post_title, group_name, discovered, description, link."""
    title = _title(_scalar(rec.get("post_title")))
    group = _scalar(rec.get("group_name"))
    discovered = _scalar(rec.get("discovered"))
    link = _scalar(rec.get("link"))
    url = link if link and link.lower().startswith(("http://", "https://")) else api_url
    return Record(id=f"{group or ''}|{title}|{_day(discovered)}", title=title, url=url,
                  body=markup_to_text(_scalar(rec.get("description")) or ""), date=discovered, author=group)


def _ransomwatch(rec: dict[str, Any], api_url: str) -> Record:
    """joshhighet/ransomwatch posts.json: post_title, group_name, discovered."""
    title = _title(_scalar(rec.get("post_title")))
    group = _scalar(rec.get("group_name"))
    discovered = _scalar(rec.get("discovered"))
    return Record(id=f"{group or ''}|{title}|{_day(discovered)}", title=title, url=api_url, body="",
                  date=discovered, author=group)


def _hibp(rec: dict[str, Any], api_url: str) -> Record:
    """HaveIBeenPwned breaches: Name (the id), Title, Domain, BreachDate, AddedDate, Description (HTML)."""
    name = _scalar(rec.get("Name"))
    details = [("Domain", _scalar(rec.get("Domain"))), ("Breach date", _scalar(rec.get("BreachDate"))),
               ("Accounts", _scalar(rec.get("PwnCount"))), ("Data", _lines(rec.get("DataClasses")))]
    body = _join(markup_to_text(_scalar(rec.get("Description")) or ""),
                 *(f"{label}: {value}" for label, value in details if value))
    url = f"{origin_of(api_url)}/PwnedWebsites#{name}" if name else api_url
    return Record(id=name, title=_title(_scalar(rec.get("Title")) or name), url=url, body=body,
                  date=_scalar(rec.get("AddedDate")) or _scalar(rec.get("BreachDate")), author=None)


@dataclass(frozen=True)
class Preset:
    """A known API: where its list is and how a record becomes an item."""

    record: Callable[[dict[str, Any], str], Record]
    items: str = ""
    single_object: bool = False   # the API may answer one object instead of a list (HIBP latestbreach)


PRESETS: dict[str, Preset] = {
    "ransomware.live": Preset(_ransomware_live),
    "ransomlook": Preset(_ransomlook),
    "ransomwatch": Preset(_ransomwatch),
    "hibp": Preset(_hibp, single_object=True),
}


# ---------------------------------------------------------------- options

def make_options(src: SourceConfig) -> Options:
    """Check a json source's keys (preset, items, fields) and build its Options."""
    if src.selectors:
        raise ConfigError("", "selectors", "makes no sense for a json source (use items and fields)")
    if src.follow:
        raise ConfigError("", "follow", "is not supported for json sources (the record is the text)")
    if src.pages != 1:
        raise ConfigError("", "pages", "makes no sense for a json source (an API answer is one document)")
    if src.preset is not None and src.preset not in PRESETS:
        raise ConfigError("", "preset", f'"{src.preset}" is not a json preset (one of: {", ".join(PRESETS)})')
    for key, path in src.fields.items():
        if key not in FIELD_KEYS:
            raise ConfigError("", f"fields.{key}", f"unknown field (expected one of: {', '.join(FIELD_KEYS)})")
        if not _steps(path):
            raise ConfigError("", f"fields.{key}", "must be a dotted path inside a record (e.g. \"victim\")")
    if src.preset is None:
        if src.items is None:
            raise ConfigError("", "items", "is required for a json source without a preset: the dotted path "
                                           "to the list (\"\" when the document is the list)")
        if "title" not in src.fields:
            raise ConfigError("", "fields.title", "is required for a json source without a preset")
    items = src.items if src.items is not None else PRESETS[src.preset].items  # type: ignore[index]
    return Options(source=src.name, url=src.url, items=items, fields=dict(src.fields), preset=src.preset)


# ---------------------------------------------------------------- parsing

async def collect(fetch: PageFetcher, opts: Options, state: SourceState) -> list[Item]:
    """Fetch the API document (conditionally) and parse it."""
    page = await fetch.get(opts.url, conditional=True)
    return await in_worker(page, parse, opts)   # big documents: in a worker, under the parse deadline


def parse(page: Page, opts: Options) -> list[Item]:
    """Records of a JSON document as items. Bad records are skipped and counted; a bad document raises."""
    document = load_json(page)
    preset = PRESETS.get(opts.preset or "")
    records = document
    for part in _steps(opts.items):
        if isinstance(records, dict) and part in records:
            records = records[part]
        elif isinstance(records, list) and part.isdigit() and int(part) < len(records):
            records = records[int(part)]
        else:
            raise ParseError(f'JSON path "{opts.items}" not found in the document (no "{part}")')
    if isinstance(records, dict) and preset is not None and preset.single_object:
        records = [records]
    if not isinstance(records, list):
        where = f'JSON path "{opts.items}"' if _steps(opts.items) else "the JSON document"
        raise ParseError(f"{where} is not a list (found {_kind(records)})")
    return records_to_items(
        records, lambda record: _item(record, page, opts, preset) if isinstance(record, dict) else None,
        opts.source, "record(s)", "not an object, or no title")


def _kind(value: Any) -> str:
    return {dict: "an object", str: "a string", int: "a number", float: "a number", bool: "true/false",
            type(None): "null"}.get(type(value), type(value).__name__)


def _item(rec: dict[str, Any], page: Page, opts: Options, preset: Preset | None) -> Item | None:
    base = Record() if preset is None else preset.record(rec, opts.url)
    for key, path in opts.fields.items():
        value = lookup(rec, path)
        if key == "title":
            base.title = _title(_scalar(value))
        elif key == "body":
            base.body = markup_to_text(_lines(value) or "")
        elif key == "id":
            base.id = _scalar(value)
        elif key == "url":
            base.url = _scalar(value)
        elif key == "date":
            base.date = _scalar(value)
        elif key == "author":
            base.author = _scalar(value)
    if not base.title:
        return None
    url = absolute_url(page.url, base.url, keep_fragment=True) if base.url else None
    date = parse_date(base.date)
    item_id = base.id or url or stable_id(base.title, base.date or "")
    return Item(source=opts.source, item_id=item_id, url=url or opts.url, title=base.title, text=base.body,
                author=one_line(base.author) if base.author else None, date=date)
