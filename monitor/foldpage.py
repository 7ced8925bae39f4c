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
    """The characters outside Latin-1 given a byte value, and the tables built for them."""

    def __init__(self) -> None:
        self.chars: list[str] = []                  # slot k holds chars[k]
        self._encoding: Any = None
        self._tables: dict[tuple[bytes, tuple[str, ...]], tuple[bytes, str]] = {}

    def fold(self, text: str, table: bytes, rule: Callable[[str], str]) -> str | None:
        """``text`` folded (``table`` for Latin-1, ``rule`` for the others), or None when the text
        holds more than 32 kinds of characters outside Latin-1, or a C1 control character."""
        encoded = self._encode(text)
        if encoded is None:
            self.chars = []           # the next text starts afresh rather than from a full page
            self._encoding = None
            encoded = self._encode(text)
            if encoded is None:
                return None
        translate, decode = self._fold_tables(table, rule)
        return codecs.charmap_decode(encoded.translate(translate), "strict", decode)[0]

    def _encode(self, text: str) -> bytes | None:
        pieces: list[bytes] = []
        at = 0
        while True:
            if self._encoding is None:
                self._encoding = codecs.charmap_build(self._decoding())
            try:
                pieces.append(codecs.charmap_encode(text[at:] if at else text, "strict", self._encoding)[0])
                return b"".join(pieces) if len(pieces) > 1 else pieces[0]
            except UnicodeEncodeError as exc:
                ch = exc.object[exc.start]
                if ord(ch) < 256 or len(self.chars) >= _SLOTS:
                    return None
                # Keep what was encoded before the new character; go on from it.
                pieces.append(codecs.charmap_encode(exc.object[:exc.start], "strict", self._encoding)[0])
                at += exc.start
                self.chars.append(ch)
                self._encoding = None

    def _decoding(self) -> str:
        slots = self.chars + _UNUSED[len(self.chars):]
        return "".join(chr(b) for b in range(_FIRST)) + "".join(slots) + "".join(
            chr(b) for b in range(_FIRST + _SLOTS, 256))

    def _fold_tables(self, table: bytes, rule: Callable[[str], str]) -> tuple[bytes, str]:
        """(byte table folding the encoded text, decoding table of the folded bytes)."""
        key = (table, tuple(self.chars))
        found = self._tables.get(key)
        if found is not None:
            return found
        translate = bytearray(table)
        decode = [chr(b) for b in range(256)]
        for k, ch in enumerate(self.chars + _UNUSED[len(self.chars):]):
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
