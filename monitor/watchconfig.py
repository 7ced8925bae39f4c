"""The watch list sections of the config: ``[[watch]]`` entries and ``[[watch_file]]`` CSV files."""

from __future__ import annotations

import csv
import gc
import io
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import fields
from itertools import repeat
from operator import itemgetter
from pathlib import Path

from monitor.configreader import Reader, show_value
from monitor.configtypes import SEVERITIES, TelegramConfig, WatchEntry, WatchFile
from monitor.userregex import UserRegexError, compile_user_regex

_HAS_ALNUM = re.compile(r"[^\W_]")        # a letter or digit: what str.isalnum() accepts


def _chats(r: Reader, telegram: TelegramConfig) -> tuple[str, ...]:
    if "chats" not in r.table:
        return telegram.default_chats
    chats = r.strings("chats")
    for i, chat in enumerate(chats):
        if chat not in telegram.chats:
            r.fail(f"chats[{i}]", f"chat {show_value(chat)} is not defined in [telegram.chats]")
    return chats


def _severity(r: Reader) -> str:
    severity: str = r.text("severity", "medium")
    if severity not in SEVERITIES:
        r.fail("severity", f"{show_value(severity)} is not one of {', '.join(SEVERITIES)}")
    return severity


def watch_entry(r: Reader, telegram: TelegramConfig) -> WatchEntry:
    r.only(("name", "kind", "terms", "regex", "exclude", "requires", "severity", "chats", "strict"))
    name = r.text("name", required=True)
    terms = r.strings("terms")
    regex = r.strings("regex")
    for i, pattern in enumerate(regex):
        try:
            compile_user_regex(pattern)
        except UserRegexError as exc:
            r.fail(f"regex[{i}]", f"{show_value(pattern)} is not a valid regular expression: {exc}")
    if not terms and not regex:
        r.fail("terms", "a watch entry needs at least one term or regex")
    for key in ("terms", "exclude", "requires"):
        for i, term in enumerate(r.strings(key)):
            if not any(ch.isalnum() for ch in term):
                r.fail(f"{key}[{i}]", f"{show_value(term)} has no letter or digit to match")
    return WatchEntry(name=name, kind=r.text("kind", "other"), terms=terms, regex=regex,
                      exclude=r.strings("exclude"), requires=r.strings("requires"),
                      severity=_severity(r), chats=_chats(r, telegram), strict=r.get("strict", bool, False))


def _entries(spec: WatchFile, rows: list[tuple[str, tuple[str, ...]]]) -> list[WatchEntry]:
    """The WatchEntry of each (name, terms) row of a watch file.

    A frozen dataclass's ``__init__`` sets each of its 9 fields through ``object.__setattr__``
    (~6 us an entry, 0.6 s for a registry of 100,000 rows, at every start): the entries are
    made empty, then each field of all of them set by its slot's descriptor in one C-level
    pass, the same values as ``WatchEntry(...)`` gives (the spec's kind, severity, chats and
    strictness; no regex, exclude or requires).
    """
    count = len(rows)
    entries = list(map(object.__new__, repeat(WatchEntry, count)))
    values: dict[str, Iterable[object]] = {
        "name": map(itemgetter(0), rows), "terms": map(itemgetter(1), rows),
        "kind": repeat(spec.kind, count), "regex": repeat((), count), "exclude": repeat((), count),
        "requires": repeat((), count), "severity": repeat(spec.severity, count),
        "chats": repeat(spec.chats, count), "strict": repeat(spec.strict, count)}
    for field in fields(WatchEntry):
        deque(map(getattr(WatchEntry, field.name).__set__, entries, values.pop(field.name)), 0)
    assert not values, f"WatchEntry has no field {', '.join(values)}"
    return entries


def watch_file(r: Reader, telegram: TelegramConfig, base: Path) -> tuple[WatchFile, list[WatchEntry], str, str]:
    """One ``[[watch_file]]``: its spec, its entries, the path of the file it read, and the
    :func:`monitor.watchfilecache.digest` of the bytes the entries were read from."""
    r.only(("path", "name_column", "terms_columns", "kind", "severity", "chats", "strict", "separator"))
    spec = WatchFile(path=r.text("path", required=True), name_column=r.text("name_column", "name"),
                     terms_columns=r.strings("terms_columns") or (r.text("name_column", "name"),),
                     kind=r.text("kind", "other"), severity=_severity(r), chats=_chats(r, telegram),
                     strict=r.get("strict", bool, False), separator=r.text("separator", "|"))
    path = Path(spec.path).expanduser()
    if not path.is_absolute():
        path = base / path
    from monitor import watchfilecache

    # The file is read once: the digest, the cache and the entries all come from these bytes,
    # so a file edited while it is read can never leave rows cached under another content's digest.
    try:
        content = path.read_bytes()
    except OSError as exc:
        r.fail("path", f"cannot read {show_value(str(path))}: {exc.strerror or exc}")
        raise
    key = watchfilecache.digest(content, spec)
    cached = watchfilecache.load(key)
    if cached is not None:
        was_enabled = gc.isenabled()
        gc.disable()         # 100,000 new objects, none in a cycle: no collection pass is worth it
        try:
            return spec, _entries(spec, cached), str(path), key
        finally:
            if was_enabled:
                gc.enable()
    rows = _read_rows(r, spec, path, content)
    watchfilecache.save(key, rows)
    return spec, _entries(spec, rows), str(path), key


def _read_rows(r: Reader, spec: WatchFile, path: Path, content: bytes) -> list[tuple[str, tuple[str, ...]]]:
    """The (name, terms) rows of a watch file's CSV content; rows of one name are merged."""
    # A national registry has 100,000 rows: csv.reader with column positions (not DictReader),
    # a C regex for "has a letter or digit", and the cyclic GC paused (the rows and terms are
    # plain strings, lists and tuples: no cycles) keep this to a fraction of a second.
    merged: dict[str, list[str]] = {}
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        try:
            reader = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))
            columns = next(reader, None) or []
            for col in (spec.name_column, *spec.terms_columns):
                if col not in columns:
                    r.fail("name_column" if col == spec.name_column else "terms_columns",
                           f"{show_value(str(path))} has no column {show_value(col)} "
                           f"(columns: {', '.join(columns)})")
            # a repeated column name means its last column, as with csv.DictReader
            last = {col: at for at, col in enumerate(columns)}
            name_at = last[spec.name_column]
            term_at = [last[col] for col in spec.terms_columns]
            width = max(name_at, *term_at) + 1
            separator = spec.separator
            has_alnum = _HAS_ALNUM.search
            for row in reader:
                if len(row) < width:
                    row += [""] * (width - len(row))     # a short row: its missing cells are empty
                name = row[name_at].strip()
                if not name:
                    continue
                terms = merged.get(name)
                if terms is None:
                    terms = merged[name] = []
                for at in term_at:
                    cell = row[at]
                    if not cell:
                        continue
                    for term in cell.split(separator) if separator in cell else (cell,):
                        term = term.strip()
                        if term and term not in terms and has_alnum(term):
                            # the name cell's own string when equal: one object, not two
                            terms.append(name if term == name else term)
        except (csv.Error, UnicodeDecodeError) as exc:
            r.fail("path", f"{show_value(str(path))} is not a readable UTF-8 CSV file: {exc}")
        return [(name, tuple(terms)) for name, terms in merged.items() if terms]
    finally:
        if was_enabled:
            gc.enable()
