"""Text as real pages write it: mojibake repaired, lookalike letters read through.

Two steps, at two places of the data flow:

1. :func:`repair_item` (the pipeline, on every item a source yields, before it is matched and
   stored): titles, authors and texts with mojibake ("La ChÃ¢taigneraie", "SantÃ©lys", a
   doubly encoded apostrophe "Ã¢â‚¬â„¢") are decoded again with ftfy. Only the encoding is
   repaired: HTML entities (the sources decode them already), curly quotes, character widths,
   ligatures, line breaks and Unicode normalization are left as the page wrote them, so text
   that is not mojibake comes out unchanged. The repaired text is what is stored, matched and
   shown in alerts; text without mojibake is never touched.
2. :func:`lookalikes` (the matcher, on title and text before folding): in a word that MIXES
   Latin letters with Cyrillic or Greek ones ("Сompilation" with a Cyrillic С, "Axiсorp"), the
   Cyrillic and Greek letters are replaced by the Latin letter they are confusable with
   (Unicode TR39 confusables data, from ``confusable-homoglyphs``). The result has one
   character per character, so match offsets still point into the original text. A word wholly
   in Cyrillic or Greek is left alone: Russian or Greek text never matches a Latin name by
   accident. :func:`lookalike_span` tells whether a match went through such letters.

Both steps cost nothing on the common case: ASCII text is recognised in constant time, and
text without a mojibake marker (a UTF-8 lead byte read as Latin-1/cp1252 followed by a
continuation byte, a C1 control, a surrogate) or without a Cyrillic or Greek letter is returned
as it is, without calling ftfy or looking at words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.records import Item

__all__ = ["has_mojibake", "hit_lookalike", "lookalike_span", "lookalikes", "repair_item", "repair_text"]

# ---------------------------------------------------------------- mojibake

# Only the fixes that undo a wrong decoding. restore_byte_a0 is off: reading a plain space as a
# lost no-break space would turn a legitimate Portuguese "Ã " into "à". Everything that would
# rewrite legitimate text (entities, quotes, widths, ligatures, normalization) is off too.
_FTFY_OPTIONS: dict[str, Any] = dict(
    unescape_html=False,
    remove_terminal_escapes=False,
    fix_encoding=True,
    restore_byte_a0=False,
    replace_lossy_sequences=False,
    decode_inconsistent_utf8=True,
    fix_c1_controls=True,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    fix_surrogates=True,
    remove_control_chars=False,
    normalization=None,
    explain=False,
)
_ftfy_config: Any = None


def _continuations(codec: str) -> str:
    """The characters bytes 0x80-0xBF (UTF-8 continuation bytes) become when read as ``codec``."""
    chars = bytes(range(0x80, 0xC0)).decode(codec, errors="ignore")
    return "".join(sorted(set(chars)))


_CONT_1252 = frozenset(_continuations("cp1252") + _continuations("latin-1"))
_CONT_1251 = frozenset(_continuations("cp1251"))
# Never in text on their own: C1 controls (Latin-1 reads of bytes 0x80-0x9F) and surrogates.
_ALONE = frozenset(map(chr, range(0x80, 0xA0)))
# Mojibake is a UTF-8 lead byte (0xC2-0xF4) read as Latin-1/cp1252 ("Ã", "Â", "â", "ð") followed
# by a continuation byte read the same way, or Cyrillic UTF-8 read as cp1251 ("Р"/"С" then a
# cp1251 continuation). The continuation is searched first: it is rare in legitimate text,
# where "â" or "Ã" is followed by an ordinary letter ("château", "SÃO").
_CONT = re.compile("[" + re.escape("".join(sorted(_CONT_1252 | _CONT_1251))) + "\ud800-\udfff]")
_LEAD_1251 = "\u0420\u0421"
# The invisible characters the sources remove from scraped text (sources.common).
_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def has_mojibake(text: str) -> bool:
    """Whether ``text`` holds a mojibake marker (then :func:`repair_text` asks ftfy)."""
    if text.isascii():
        return False
    for m in _CONT.finditer(text):
        ch, at = m.group(), m.start()
        if ch in _ALONE or "\ud800" <= ch <= "\udfff":
            return True
        prev = text[at - 1] if at else ""
        if ("\u00c2" <= prev <= "\u00f4" and ch in _CONT_1252) or (prev in _LEAD_1251 and ch in _CONT_1251):
            return True
    return False


def repair_text(text: str) -> str:
    """``text`` with its mojibake decoded again; text without mojibake markers is returned as is.

        >>> repair_text("La ChÃ¢taigneraie")
        'La Châtaigneraie'
        >>> repair_text("SÃO PAULO")
        'SÃO PAULO'
    """
    if not has_mojibake(text):
        return text
    global _ftfy_config
    try:
        import ftfy  # imported on first need: it costs ~90 ms, and most text never needs it

        if _ftfy_config is None:
            _ftfy_config = ftfy.TextFixerConfig(**_FTFY_OPTIONS)
        fixed = ftfy.fix_text(text, _ftfy_config)
    except Exception:  # noqa: BLE001 - a repair must never lose an item: keep the text as scraped
        return text
    # A repaired zero-width space or bidi control ("â\x80\x8b") goes, as the sources drop them.
    return _INVISIBLE.sub("", fixed) if fixed != text else text


def repair_item(item: Item) -> Item:
    """The item with its title, author and text repaired (the same object when nothing changed)."""
    title = repair_text(item.title) if item.title else item.title
    text = repair_text(item.text) if item.text else item.text
    author = repair_text(item.author) if item.author else item.author
    if title is item.title and text is item.text and author is item.author:
        return item
    return replace(item, title=title, text=text, author=author)


# ---------------------------------------------------------------- lookalike letters

_SCRIPTS = ("CYRILLIC", "GREEK")
# Cyrillic, Cyrillic Supplement/Extended, Greek and Coptic, Greek Extended.
_OTHER_RANGES = "\u0370-\u03ff\u0400-\u052f\u1c80-\u1c8f\u1f00-\u1fff\u2de0-\u2dff\ua640-\ua69f"
_OTHER = re.compile(f"[{_OTHER_RANGES}]")
_LATIN_RANGES = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_WORD = r"[^\W_]"
# A word (letters and digits) that holds at least one Latin and one Cyrillic/Greek letter.
_MIXED = re.compile(
    rf"(?<!{_WORD})(?={_WORD}*[{_LATIN_RANGES}])(?={_WORD}*[{_OTHER_RANGES}]){_WORD}+"
)

_LATIN = re.compile(f"[{_LATIN_RANGES}]")
_WORD_RUN = re.compile(f"{_WORD}+")
_WORD_TAIL = re.compile(f"{_WORD}+\\Z")

_table: dict[int, str] | None = None


def _lookalike_table() -> dict[int, str]:
    """Cyrillic/Greek letter -> the one ASCII letter or digit TR39 says it is confusable with.

    Built on first use (the data is a 900 KB JSON file). TR39 gives the capital-I lookalikes
    ("І", "Ι", "Ӏ") the prototype "l"; a capital is read as "I" instead, since the folding that
    follows tells "i" from "l". Letters whose lookalike is several characters ("ы" -> "bl") are
    left out: one character out per character in.
    """
    global _table
    if _table is not None:
        return _table
    from confusable_homoglyphs import categories, confusables

    data = confusables.confusables_data

    def prototype(ch: str) -> str | None:
        for glyph in data.get(ch) or ():
            target: str = glyph.get("c", "")
            if len(target) == 1 and target.isascii() and target.isalnum():
                return target
        return None

    table: dict[int, str] = {}
    for start, end in ((0x0370, 0x03FF), (0x0400, 0x052F), (0x1C80, 0x1C8F), (0x1F00, 0x1FFF),
                       (0x2DE0, 0x2DFF), (0xA640, 0xA69F)):
        for code in range(start, end + 1):
            ch = chr(code)
            if not ch.isalpha() or categories.alias(ch) not in _SCRIPTS:
                continue
            target = prototype(ch)
            if target == "l" and ch.isupper():
                target = "I"
            if target:
                table[code] = target
    _table = table
    return table


def lookalikes(text: str) -> str:
    """``text`` with the Cyrillic/Greek letters of mixed-script words replaced by Latin lookalikes.

    Same length as ``text``; the very same object when nothing changes (no Cyrillic or Greek
    letter, or none inside a word that also has Latin letters)::

        >>> lookalikes("Axi\\u0441orp leak")
        'Axicorp leak'
        >>> lookalikes("\\u0410\\u0441\\u0435")          # a Cyrillic word stays Cyrillic
        'Асе'
    """
    if text.isascii():
        return text
    try:
        # Latin-1 text (French or English with accents) holds no Cyrillic or Greek letter: one
        # C pass at ~1 GB/s instead of the search below (~100 MB/s).
        text.encode("latin-1")
    except UnicodeEncodeError:
        pass
    else:
        return text
    other = _OTHER.search(text)
    if other is None:
        return text
    pieces: list[str] = []
    done = 0
    table = None
    for start, end in _mixed_words(text, other.start()):
        if table is None:
            table = _lookalike_table()
        word = text[start:end]
        read = word.translate(table)
        if read != word:
            pieces.append(text[done:start])
            pieces.append(read)
            done = end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def _mixed_words(text: str, other: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each word holding both a Latin and a Cyrillic/Greek letter, in order.

    What ``_MIXED.finditer`` finds, without trying every word: the next Latin letter and the
    next Cyrillic/Greek letter are looked up (each a C scan), and only the word holding the
    later of the two can be the next mixed word (an earlier word lacks one of the two kinds).
    A Cyrillic text with a few Latin names costs a step per Latin word, not per word.
    """
    latin_search, other_search = _LATIN.search, _OTHER.search
    pos = 0
    latin = latin_search(text)
    while latin is not None:
        at = max(latin.start(), other)
        word = _WORD_RUN.match(text, at)
        if word is None:
            pos = at + 1        # a Greek or Cyrillic sign, not a letter: no word holds it
        else:
            start, end = _word_start(text, at), word.end()
            if _LATIN.search(text, start, end) and _OTHER.search(text, start, end):
                yield start, end
            pos = end
        if latin.start() < pos:
            latin = latin_search(text, pos)
        if other < pos:
            found = other_search(text, pos)
            if found is None:
                return
            other = found.start()


def _word_start(text: str, at: int) -> int:
    """Where the word (letters and digits) holding the letter at ``at`` starts."""
    lo = at
    while True:
        lo = max(0, lo - 64)
        tail = _WORD_TAIL.search(text, lo, at)
        begin = tail.start() if tail is not None else at
        if begin > lo or lo == 0:
            return begin


def lookalike_span(text: str, start: int, end: int) -> bool:
    """Whether the match ``text[start:end]`` was read through lookalike letters.

    The words around the span are read again (a mixed word is judged as a whole).
    """
    if not text or start >= end or _OTHER.search(text, start, end) is None:
        return False
    left = start
    while left > 0 and (text[left - 1].isalnum()):
        left -= 1
    right = end
    while right < len(text) and text[right].isalnum():
        right += 1
    piece = text[left:right]
    return lookalikes(piece)[start - left:end - left] != piece[start - left:end - left]


def hit_lookalike(hit: object) -> bool:
    """Whether a stored hit (a ``HitView``: ``field``, ``start``, ``end`` and its ``item``) was
    matched through lookalike letters: read again from the stored text, so no column is needed."""
    item = getattr(hit, "item", None)
    if item is None:
        return False
    text = item.text if getattr(hit, "field", "") == "text" else item.title
    return lookalike_span(text or "", int(getattr(hit, "start", 0)), int(getattr(hit, "end", 0)))
