"""Watch-list regexes on RE2: the time to search a text grows linearly with the text, whatever the pattern.

The patterns come from the config and the texts from the people leakmon watches. Python's ``re``
backtracks: ``(a+)+$`` against 5,000 "a" and a "!" runs for minutes holding the GIL, and nothing
can interrupt it. RE2 (google-re2) never backtracks; in exchange it has no backreferences (``\\1``)
and no lookaround (``(?=``, ``(?!``, ``(?<=``, ``(?<!``). A pattern RE2 cannot compile is a config
error, never a silent fall-back to ``re``.

Semantics kept from before: case-insensitive (Unicode case folding: "été" finds "ÉTÉ"), searched
on the original title and text, offsets in characters. RE2's ``\\w``, ``\\d``, ``\\s`` and ``\\b``
know ASCII only (``\\b`` sits between an ASCII letter, digit or ``_`` and anything else); ``\\pL``
is any letter, ``[\\pL\\pN_]`` a Unicode word character.
"""

from __future__ import annotations

from typing import Any

import re2

__all__ = ["UserRegexError", "compile_user_regex", "first_nonempty"]

#: RE2's memory budget for one compiled pattern (its default); a pattern that needs more is refused.
_MAX_MEM = 8 << 20


class UserRegexError(ValueError):
    """A pattern RE2 cannot compile; the message says why in words."""


def _options() -> Any:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False          # the error is reported once, by us, not printed by RE2
    options.max_mem = _MAX_MEM
    return options


_OPTIONS = _options()

_HINTS = (
    ("invalid perl operator: (?=", "lookahead"), ("invalid perl operator: (?!", "lookahead"),
    ("invalid perl operator: (?<=", "lookbehind"), ("invalid perl operator: (?<!", "lookbehind"),
)


def compile_user_regex(pattern: str) -> Any:
    """Compile a watch-list pattern for :func:`first_nonempty` and ``finditer``.

    Raises :class:`UserRegexError` for a pattern RE2 refuses (bad syntax, a backreference,
    lookaround, a repetition over 1000, a pattern too big), with the reason in words.
    """
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid pattern"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        reason = str(reason)
        hint = next((what for prefix, what in _HINTS if reason.startswith(prefix)), None)
        if hint is None and reason.startswith("invalid escape sequence: \\") and reason[-1:].isdigit():
            hint = "a backreference"
        if hint is not None:
            reason += (f" ({hint} is not supported: watch-list regexes run on RE2, which guarantees "
                       "linear time and has no backreferences or lookaround)")
        raise UserRegexError(reason) from None


def first_nonempty(pattern: Any, value: str) -> Any:
    """The first match that covers at least one character (an empty match locates nothing)."""
    for m in pattern.finditer(value):
        if m.end() > m.start():
            return m
    return None
