"""Folding Latin text that holds a few characters outside Latin-1, in three C calls.

Real Latin-script text is rarely pure Latin-1: curly quotes and apostrophes (’ “ ”), dashes
(– —), "œ", "€", an emoji. Such a text cannot take the Latin-1 byte table of
:mod:`monitor.normalize`, and ``str.translate`` with a per-character map runs ~20 M
characters/s. When a text uses at most 32 distinct characters outside Latin-1 and no C1 control
character (U+0080..U+009F, which text does not use; a byte decoded as Latin-1 may be one), each
of those characters gets one of the 32 byte values 0x80..0x9F: the text is encoded with that
code page (``codecs.charmap_encode``), folded with a byte table (``bytes.translate``) and decoded
back (``codecs.charmap_decode``) at ~80 M characters/s. The result is the per-character rule's,
character for character.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import Any

__all__ = ["CodePage"]

_FIRST = 0x80
_SLOTS = 32
# What an unused slot decodes to: noncharacters, which the rule folds to a space as it folds
# any unassigned code point, so the slot's table entry is right even if one turns up.
_UNUSED = [chr(0xFDD0 + k) for k in range(_SLOTS)]


class CodePage:
    """The characters outside Latin-1 given a byte value, and the tables built for them.

    Shared by threads (polls match in worker threads): each call works on its own copy of the
    page and publishes the page it ended with in one assignment; tables are keyed by the page.
    """

    def __init__(self) -> None:
        # (slot k holds chars[k], the encoding map of that page or None until built)
        self._page: tuple[tuple[str, ...], Any] = ((), None)
        self._tables: dict[tuple[bytes, tuple[str, ...]], tuple[bytes, str]] = {}

    @property
    def chars(self) -> tuple[str, ...]:
        """The characters of the current page, in slot order."""
        return self._page[0]

    def fold(self, text: str, table: bytes, rule: Callable[[str], str]) -> str | None:
        """``text`` folded (``table`` for Latin-1, ``rule`` for the others), or None when the text
        holds more than 32 kinds of characters outside Latin-1, or a C1 control character."""
        chars, encoding = self._page
        done = _encode(text, list(chars), encoding)
        if done is None and chars:
            done = _encode(text, [], None)        # afresh rather than from a full page
        if done is None:
            return None
        encoded, page = done
        self._page = page
        translate, decode = self._fold_tables(table, rule, page[0])
        return codecs.charmap_decode(encoded.translate(translate), "strict", decode)[0]

    def _fold_tables(self, table: bytes, rule: Callable[[str], str], chars: tuple[str, ...]) -> tuple[bytes, str]:
        """(byte table folding the encoded text, decoding table of the folded bytes)."""
        key = (table, chars)
        found = self._tables.get(key)
        if found is not None:
            return found
        translate = bytearray(table)
        decode = [chr(b) for b in range(256)]
        for k, ch in enumerate(chars + tuple(_UNUSED[len(chars):])):
            folded = rule(ch)
            if ord(folded) < 256:
                translate[_FIRST + k] = ord(folded)
            else:
                # Outside Latin-1 ("œ" stays "œ", Greek stays Greek): the slot stands for it.
                translate[_FIRST + k] = _FIRST + k
                decode[_FIRST + k] = folded
        if len(self._tables) > 64:
            self._tables.clear()
        found = self._tables[key] = (bytes(translate), "".join(decode))
        return found


def _encode(text: str, chars: list[str], encoding: Any) -> tuple[bytes, tuple[tuple[str, ...], Any]] | None:
    """``text`` encoded with the page ``chars`` (extended with the new characters it meets), and
    the page it ended with; None when the page overflows or a C1 control character turns up."""
    pieces: list[bytes] = []
    at = 0
    while True:
        if encoding is None:
            encoding = codecs.charmap_build(_decoding(chars))
        try:
            pieces.append(codecs.charmap_encode(text[at:] if at else text, "strict", encoding)[0])
            return (b"".join(pieces) if len(pieces) > 1 else pieces[0]), (tuple(chars), encoding)
        except UnicodeEncodeError as exc:
            ch = exc.object[exc.start]
            if ord(ch) < 256 or len(chars) >= _SLOTS:
                return None
            # The slot the new character takes stood for its placeholder until now: if the text
            # already held that noncharacter, it was encoded to this slot and would decode as ch.
            if text.find(_UNUSED[len(chars)], 0, at + exc.start) >= 0:
                return None
            # Keep what was encoded before the new character; go on from it.
            pieces.append(codecs.charmap_encode(exc.object[:exc.start], "strict", encoding)[0])
            at += exc.start
            chars.append(ch)
            encoding = None


def _decoding(chars: list[str]) -> str:
    slots = chars + _UNUSED[len(chars):]
    high = "".join(chr(b) for b in range(_FIRST + _SLOTS, 256))
    return "".join(chr(b) for b in range(_FIRST)) + "".join(slots) + high
