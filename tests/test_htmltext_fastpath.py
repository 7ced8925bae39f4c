"""Alert text is cleaned and measured without a Python step per character when it can be: the
same result as the per-character rule (every Latin-1 character, and any text)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.alerts.htmltext import _INLINE_SPACES, _MANY_NEWLINES, _SPACES, _is_dropped, clean, utf16_len


def _clean_by_character(text: str, *, multiline: bool = False) -> str:
    kept = "".join(ch for ch in text if not _is_dropped(ch))
    if multiline:
        kept = _INLINE_SPACES.sub(" ", kept.replace("\r", ""))
        kept = "\n".join(line.strip() for line in kept.split("\n"))
        return _MANY_NEWLINES.sub("\n\n", kept).strip()
    return _SPACES.sub(" ", kept).strip()


def test_every_latin1_character_is_kept_or_dropped_as_the_rule_says() -> None:
    for code in range(256):
        text = f"a{chr(code)}b"
        for multiline in (False, True):
            assert clean(text, multiline=multiline) == _clean_by_character(text, multiline=multiline), hex(code)


@settings(max_examples=2000, deadline=None)
@given(text=st.text(alphabet=st.characters(max_codepoint=0x2FF) | st.sampled_from(
    "\u200b\u202e\u2066\ufeff\U0001f600\ud800\udfff\u00ad\n\r\t"), max_size=40), multiline=st.booleans())
def test_any_text_cleans_and_measures_as_the_per_character_rule(text: str, multiline: bool) -> None:
    assert clean(text, multiline=multiline) == _clean_by_character(text, multiline=multiline)
    assert utf16_len(text) == len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)
