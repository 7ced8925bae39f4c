"""Text -> match form: casefold, accents, punctuation, defanging, word spacing.

Two steps, kept apart because the first one keeps offsets and the second does not:

1. :func:`fold` (or :func:`fold_strict`) writes ONE character out per character in, so an
   offset in the folded text is an offset in the original. Letters and digits are lower-cased
   and lose their accents ("É" -> "e", "ß" -> "s"); every other visible character (punctuation,
   underscore, apostrophes, hyphens, dots, brackets, spaces, control characters) becomes a
   space; invisible characters that do not separate words (combining marks, soft hyphen,
   zero-width and bidi controls: Unicode categories M* and Cf) become :data:`JOIN` ("\\0"),
   which step 2 deletes, so "Medi\\u200bboard" still reads "mediboard". Defanged dots
   ("[dot]", "(dot)", "{dot}") become spaces too; "[.]" needs nothing, it is punctuation.
2. :class:`WordForm` (:mod:`monitor.wordform`) deletes JOIN characters and collapses runs of
   spaces to one, padded with one space at each end: " hopital saint joseph ". A term in that
   form, padded the same way, can only match whole words. ``WordForm.to_original`` maps
   positions back to the original text (lazily: only matches ever need it).

Speed (normalization is most of the cost of matching): text that encodes to Latin-1 goes through
``bytes.translate`` with a 256-byte table (hundreds of MB/s); other text is cut into Latin-1
runs (same table) and non-Latin-1 runs (``str.translate`` with a per-character map built once
per character and cached), so one emoji in a 40 MB file does not slow the whole file down.
When the compiled ``monitor._textfold`` is there (:mod:`monitor.textfold`), one C pass does all
of it, Latin-1 through the same table and other characters through a cache filled by the same rule.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

from monitor import textfold
from monitor.foldpage import CodePage
from monitor.wordform import JOIN, WordForm, collapse

__all__ = [
    "JOIN",
    "NORMALIZATION_VERSION",
    "WordForm",
    "fold",
    "fold_strict",
    "match_form",
    "match_form_strict",
    "match_forms",
]

#: Bump when the folding rules change: cached compiled watch lists keyed on it go stale.
NORMALIZATION_VERSION = "1"

# Letters that look like an apostrophe or a quote (U+02B9..U+02BF, U+02C8, U+02CA, U+02CB):
# they are "letters" to Unicode but separate words like "'" does ("d\u02bcInstruction").
_QUOTE_LETTERS = frozenset("\u02b9\u02ba\u02bb\u02bc\u02bd\u02be\u02bf\u02c8\u02ca\u02cb")

# Per-character maps of the slow path, filled on first sight of a character. Bounded: an
# attacker's page full of distinct code points must not grow memory forever.
_SLOW_CACHE_LIMIT = 100_000

_NON_LATIN1_RUN = re.compile("([^\x00-\xff]+)")
# A text with more non-Latin-1 runs than this (Cyrillic, Arabic, CJK prose: a run per word) is
# translated whole with the per-character map (~25 M characters/s) rather than run by run.
_FEW_RUNS = 64
# A folded "[dot]" is " dot "; the original characters around it tell it from the word "dot".
_DEFANG_OPEN = "[({"
_DEFANG_CLOSE = "])}"


def _fold_char(ch: str) -> str:
    """The folded form of one character (the rule; tables and caches are built from it)."""
    category = unicodedata.category(ch)
    if category[0] == "M" or category == "Cf":
        return JOIN
    if ch in _QUOTE_LETTERS or not ch.isalnum():
        return " "
    # NFKD splits "É" into "E" + U+0301 and "ﬁ" into "fi"; keep the first base character.
    for base in unicodedata.normalize("NFKD", ch):
        if unicodedata.combining(base):
            continue
        if not base.isalnum():
            return " "
        # casefold gives "ss" for "ß": its first character keeps the output one-for-one.
        out = base.casefold()[0]
        if ord(ch) < 256 and ord(out) >= 256:
            # Only "µ" (-> Greek mu): keep it in Latin-1 so the fast table can hold it and
            # both paths agree.
            return ch.lower()
        return out
    return " "


def _fold_char_strict(ch: str) -> str:
    """Strict folding of one character: case and accents kept, only separators fold."""
    category = unicodedata.category(ch)
    if category == "Cf":
        return JOIN
    if category[0] == "M":
        return ch  # an accent written as a combining mark is part of the word in strict mode
    if ch in _QUOTE_LETTERS or not ch.isalnum():
        return " "
    return ch


def _latin1_table(rule: Callable[[str], str]) -> bytes:
    return bytes(ord(rule(chr(b))) for b in range(256))


_TABLE = _latin1_table(_fold_char)
_TABLE_STRICT = _latin1_table(_fold_char_strict)
# The same tables with "\n" kept as "\n": match_forms() folds many terms joined by newlines in
# one call and splits them again afterwards.
_TABLE_NL = _TABLE[:10] + b"\n" + _TABLE[11:]
_TABLE_STRICT_NL = _TABLE_STRICT[:10] + b"\n" + _TABLE_STRICT[11:]


class _FoldMap(dict[int, int]):
    """Code point -> folded code point for ``str.translate``: the Latin-1 table's 256 entries, and
    every other character computed by the rule on first sight (``__missing__``, called by
    ``str.translate`` itself), so one C pass translates a whole text."""

    def __init__(self, table: bytes, rule: Callable[[str], str]) -> None:
        super().__init__(enumerate(table))
        self.table = table
        self.rule = rule

    def __missing__(self, key: int) -> int:
        # A Latin-1 key is missing only while bound() refills the map (another thread): the
        # table's value, not the rule's (the tables that keep "\n" differ from the rule there).
        value = self.table[key] if key < 256 else ord(self.rule(chr(key)))
        self[key] = value
        return value

    def bound(self) -> _FoldMap:
        """The map, emptied of its computed entries when it holds too many."""
        if len(self) > _SLOW_CACHE_LIMIT:
            self.clear()
            self.update(enumerate(self.table))
        return self


# Latin text with a few kinds of characters outside Latin-1 (curly quotes, dashes, "œ").
_CODE_PAGE = CodePage()
# The map of each Latin-1 table (the plain and strict rules, with and without newlines kept).
_MAPS = {_TABLE: _FoldMap(_TABLE, _fold_char), _TABLE_NL: _FoldMap(_TABLE_NL, _fold_char),
         _TABLE_STRICT: _FoldMap(_TABLE_STRICT, _fold_char_strict),
         _TABLE_STRICT_NL: _FoldMap(_TABLE_STRICT_NL, _fold_char_strict)}
# The compiled folds of the same tables and rules (empty without monitor._textfold); its cache
# holds at most as many characters as the maps do.
_FOLDERS = ({table: textfold.FoldTable(table, m.rule, _SLOW_CACHE_LIMIT // 256) for table, m in _MAPS.items()}
            if textfold.LOADED else {})


def _translate(text: str, table: bytes) -> str:
    """``text`` with every character replaced by its fold (``table`` for Latin-1, its rule for the rest)."""
    folder = _FOLDERS.get(table)
    if folder is not None:
        return folder.translate(text)
    return _translate_py(text, table, _MAPS[table])


def _translate_py(text: str, table: bytes, fold_map: _FoldMap) -> str:
    """:func:`_translate` in Python."""
    try:
        return text.encode("latin-1").translate(table).decode("latin-1")
    except UnicodeEncodeError:
        pass
    folded = _CODE_PAGE.fold(text, table, fold_map.rule)
    if folded is not None:
        return folded
    fold_map = fold_map.bound()
    for runs, _run in enumerate(_NON_LATIN1_RUN.finditer(text)):
        if runs >= _FEW_RUNS:
            return text.translate(fold_map)
    # A few non-Latin-1 runs (an emoji, a name in Greek) in Latin-1 text: the runs through the
    # map, the rest (most of the text) through the byte table.
    parts = _NON_LATIN1_RUN.split(text)
    # split() with a capturing group alternates: Latin-1 run, non-Latin-1 run, Latin-1 run...
    for i in range(1, len(parts), 2):
        parts[i] = parts[i].translate(fold_map)
    for i in range(0, len(parts), 2):
        if parts[i]:
            parts[i] = parts[i].encode("latin-1").translate(table).decode("latin-1")
    return "".join(parts)


def _undefang(text: str, folded: str) -> str:
    """Blank "[dot]", "(dot)", "{dot}" (any case) in ``folded``; the plain word "dot" stays."""
    at = folded.find(" dot ")
    if at < 0:
        return folded
    pieces: list[str] = []
    done = 0
    while at >= 0:
        if text[at] in _DEFANG_OPEN and text[at + 4] in _DEFANG_CLOSE:
            pieces.append(folded[done:at])
            pieces.append("     ")
            done = at + 5
        at = folded.find(" dot ", at + 4)
    if not pieces:
        return folded
    pieces.append(folded[done:])
    return "".join(pieces)


def fold(text: str) -> str:
    """Fold ``text`` to its match form, one character out per character in.

    Lower-case, accents removed, every non-alphanumeric character a space, invisible in-word
    characters :data:`JOIN`, defanged dots blanked::

        >>> fold("Hôpital Saint-Joseph")
        'hopital saint joseph'
        >>> fold("chu-rennes[dot]fr")
        'chu rennes     fr'
    """
    return _undefang(text, _translate(text, _TABLE))


def _fold_strict(text: str, table: bytes) -> str:
    """fold_strict() with a choice of Latin-1 table (match_forms() keeps newlines)."""
    folded = _translate(text, table)
    # Case is kept, so " dot " cannot be searched for in the output as fold() does; strict
    # entries are few, a regex over the original is fast enough for them.
    marks = [m.start() for m in _DEFANGED.finditer(text)]
    if not marks:
        return folded
    pieces: list[str] = []
    done = 0
    for at in marks:
        pieces.append(folded[done:at])
        pieces.append("     ")
        done = at + 5
    pieces.append(folded[done:])
    return "".join(pieces)


def fold_strict(text: str) -> str:
    """Like :func:`fold` but case and accents are kept (for ``strict`` watch entries).

        >>> fold_strict("Laboratoire Mémé (Lyon)")
        'Laboratoire Mémé  Lyon '
    """
    return _fold_strict(text, _TABLE_STRICT)


_DEFANGED = re.compile(r"[\[({][dD][oO][tT][\])}]")


def match_form(term: str) -> str:
    """A term as the automaton stores it: folded, single-spaced, stripped ("hopital saint joseph")."""
    return collapse(fold(term)).strip(" ")


def match_form_strict(term: str) -> str:
    """:func:`match_form` for strict entries (case and accents kept)."""
    return collapse(fold_strict(term)).strip(" ")


def match_forms(terms: Sequence[str], strict: bool = False) -> list[str]:
    """:func:`match_form` (or :func:`match_form_strict`) of every term, computed in bulk.

    A watch file of 100,000 names has some 250,000 terms: one fold and one collapse over all of
    them joined by newlines costs a fraction of 250,000 calls. Same result as the calls::

        >>> match_forms(["Hôpital Saint-Joseph", "chu-rennes[.]fr"])
        ['hopital saint joseph', 'chu rennes fr']
    """
    if not terms:
        return []
    blob = "\n".join(terms)
    if blob.count("\n") != len(terms) - 1:
        # A term holds a newline itself: the joined text cannot be split back. Rare; one by one.
        one = match_form_strict if strict else match_form
        return [one(term) for term in terms]
    if strict:
        folded = _fold_strict(blob, _TABLE_STRICT_NL)
    else:
        folded = _undefang(blob, _translate(blob, _TABLE_NL))
    # collapse leaves at most one space on each side of a newline: the strip of each term.
    collapsed = collapse(folded).replace(" \n", "\n").replace("\n ", "\n").strip(" ")
    return collapsed.split("\n")
