"""Personal data in scraped posts: find it (validated by checksums), mask it for display.

A leak post about a hospital carries a sample of the data it sells. leakmon shows posts in a
third-party chat and in exports, so the sample is masked there; the watched term and e-mail
domains stay readable (``•••@chu-rennes.fr`` still says whose data it is).

What is found, in this order (an earlier kind wins where two overlap):

- e-mail addresses: the local part is masked, the domain kept;
- IBAN: two letters, two check digits and the account, accepted only when the ISO 13616
  mod-97 checksum holds (``stdnum.iban``);
- NIR (French social security number): 13 digits and a 2-digit key that must match
  (``stdnum.fr.nir``; Corsica's 2A/2B included);
- payment card numbers: 13, 15 to 19 digits (spaces or dashes between groups) that pass Luhn
  (``stdnum.luhn``); 14 digits are left alone, since every French SIRET passes Luhn too;
- phone numbers, French and international formats, as ``phonenumbers`` finds and validates them.

A number that fails its checksum is not that kind of data (an order id, a price, a typo) and is
left as it is. Pure functions, no I/O; nothing here raises on any input.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers.phonenumberutil import _VALID_PUNCTUATION as _PHONE_PUNCTUATION
from stdnum import iban as _iban
from stdnum import luhn as _luhn
from stdnum.fr import nir as _nir

MASK = "•••"
LABELS = {"email": "e-mail", "iban": "IBAN", "nir": "NIR", "card": "card", "phone": "phone"}
KINDS = tuple(LABELS)             # the order findings are searched in and reported in

# How much text is scanned for personal data at most: a 10 MB paste must not stall a poll.
# Counts over a longer text say "at least".
MAX_SCAN = 200_000

_SEP = "[ .\u00a0\u202f-]"
_EMAIL = re.compile(
    r"(?<![\w.%+-])([A-Za-z0-9][A-Za-z0-9._%+-]{0,63})@"
    r"((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24})(?![\w-])")
# Each pattern starts with the character class of its first character, and checks what precedes
# that character just after it (a lookbehind over both: "[1-478](?<!\w[1-478])" is
# "(?<!\w)[1-478]"): a pattern that starts with a lookbehind is tried at every position of the
# text, one that starts with a class skips in C to the next character of that class (2-2.5x
# faster over forum posts; same matches, tested against the patterns written the other way).
_IBAN = re.compile(r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]\d{2}(?:[ \u00a0]?[A-Z0-9]{1,4}){2,8}(?![A-Za-z0-9])")
_IBAN_GROUP = re.compile(r"[ \u00a0]?([A-Z0-9]{1,4})")
_NIR = re.compile(rf"[1-478](?<![\w][1-478]){_SEP}?\d\d{_SEP}?\d\d{_SEP}?(?:\d\d|2[ABab]){_SEP}?\d{{3}}{_SEP}?"
                  rf"\d{{3}}{_SEP}?\d\d(?![\w])")
_CARD = re.compile(r"\d(?<![\w.,]\d)(?:[ \-\u00a0]?\d){12,18}(?![\w]|[.,]\d)")
_CARD_LENGTHS = frozenset({13, 15, 16, 17, 18, 19})
_NOT_DIGIT = re.compile(r"\D")

# The cheap test that lets the slow finders skip a text. A NIR (13 digits and its key; Corsica's
# 2A/2B leaves 8 digits after it), a card (13 to 19 digits) and a phone number written without a
# plus sign (FR: 9 digits; through the 00 prefix: 00, a country code and at least 4 more) each
# hold a run of 7 digits or more, with at most 4 separators between two digits (phonenumbers
# allows up to 4 of its punctuation characters between digit blocks; NIR and card take one
# space, dot or dash). A text without such a run and without a plus sign holds none of them.
# (An international number needs a plus sign or 00; the matcher is run whenever a plus is there.)
FAST = True    # False runs every finder on every text: the reference the tests hold the fast path to
_DIGIT_RUN = re.compile("\\d(?:[" + _PHONE_PUNCTUATION + " .\u00a0\u202f-]{0,4}\\d){6}")
_PLUS = re.compile("[+\uff0b]")


def _has_plus(text: str) -> bool:
    """Whether ``text`` holds a plus sign (what ``_PLUS.search`` says, ~20x faster: two memchr)."""
    return "+" in text or "\uff0b" in text

_ANY_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: its kind and where it is (``start``/``end`` of the whole value;
    ``mask_start`` is where masking begins: the local part of an e-mail, else the value itself)."""

    kind: str
    start: int
    end: int
    mask_start: int
    mask_end: int


def _overlaps(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)


def _emails(text: str) -> Iterable[Finding]:
    if FAST and "@" not in text:
        return
    for m in _EMAIL.finditer(text):
        yield Finding("email", m.start(), m.end(), m.start(1), m.end(1))


def _ibans(text: str) -> Iterable[Finding]:
    for m in _IBAN.finditer(text):
        # The longest run of groups that is a valid IBAN (words in capitals may follow one).
        ends = [g.end() for g in _IBAN_GROUP.finditer(text, m.start() + 4, m.end())]
        for end in reversed(ends):
            value = text[m.start():end]
            if _safe_valid(_iban.is_valid, value):
                yield Finding("iban", m.start(), end, m.start(), end)
                break


def _nirs(text: str) -> Iterable[Finding]:
    if FAST and not _DIGIT_RUN.search(text):
        return
    for m in _NIR.finditer(text):
        value = re.sub(_SEP, "", m.group())
        if _safe_valid(_nir.is_valid, value.upper()):
            yield Finding("nir", m.start(), m.end(), m.start(), m.end())


def _cards(text: str) -> Iterable[Finding]:
    if FAST and not _DIGIT_RUN.search(text):
        return
    for m in _CARD.finditer(text):
        digits = _NOT_DIGIT.sub("", m.group())
        if len(digits) in _CARD_LENGTHS and digits.strip("0") and _safe_valid(_luhn.is_valid, digits):
            yield Finding("card", m.start(), m.end(), m.start(), m.end())


def _could_be_phone(text: str) -> bool:
    """Whether ``text`` holds a run of digits a phone number could be made of, or a plus sign and
    a digit (see _DIGIT_RUN): a text without either holds no phone number."""
    return _DIGIT_RUN.search(text) is not None or (_has_plus(text)
                                                   and _ANY_DIGIT.search(text) is not None)


class _PhoneMatcher(phonenumbers.PhoneNumberMatcher):
    """phonenumbers' matcher, told to skip at once each candidate (a run of digits and
    punctuation it found) that cannot hold a phone number by the rule of :func:`_could_be_phone`.
    A skipped candidate counts as a failed one, as parsing it would; the matches are the same.
    In forum text most candidates are lone numbers (a year, a price, digits of a hash): parsing
    each cost ~40 us."""

    def _extract_match(self, candidate: str, offset: int) -> Any:
        if not _could_be_phone(candidate):
            return None
        return super()._extract_match(candidate, offset)


def _phones(text: str) -> Iterable[Finding]:
    if FAST and not _could_be_phone(text):
        return      # no run of digits a phone number could be made of (see _DIGIT_RUN)
    matcher = _PhoneMatcher if FAST else phonenumbers.PhoneNumberMatcher
    try:
        for m in matcher(text, "FR", leniency=phonenumbers.Leniency.VALID, max_tries=100_000):
            yield Finding("phone", m.start, m.end, m.start, m.end)
    except Exception:  # noqa: BLE001 - a library bug on hostile text must not stop an alert; the rest is masked
        return


def _safe_valid(check: object, value: str) -> bool:
    try:
        return bool(check(value))  # type: ignore[operator]
    except Exception:  # noqa: BLE001 - a failed check is a failed validation
        return False


_FINDERS = (_emails, _ibans, _nirs, _cards, _phones)


class _Taken:
    """Non-overlapping spans, sorted, with a logarithmic overlap test (a sample has thousands)."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def free(self, start: int, end: int) -> bool:
        at = bisect.bisect_left(self.starts, end)        # spans starting before ``end``
        return at == 0 or self.ends[at - 1] <= start

    def add(self, start: int, end: int) -> None:
        at = bisect.bisect_left(self.starts, start)
        self.starts.insert(at, start)
        self.ends.insert(at, end)


def find_personal_data(text: str) -> list[Finding]:
    """Every piece of personal data in ``text`` (at most the first :data:`MAX_SCAN` characters),
    in text order, never overlapping."""
    text = text[:MAX_SCAN]
    taken = _Taken()
    found: list[Finding] = []
    for finder in _FINDERS:
        if finder is _phones and found:
            # What is already found is blanked out: the phone matcher (the slow one) then has
            # far fewer runs of digits to try, and the positions stay the same.
            parts, at = [], 0
            for f in sorted(found, key=lambda f: f.start):
                parts += [text[at:f.start], " " * (f.end - f.start)]
                at = f.end
            scanned = "".join(parts) + text[at:]
        else:
            scanned = text
        for f in finder(scanned):
            if taken.free(f.start, f.end):
                taken.add(f.start, f.end)
                found.append(f)
    found.sort(key=lambda f: f.start)
    return found


# "[A-Z][A-Z]", not "[A-Z]{2}": a pattern that starts with a class is searched by skipping in C to
# the next character of the class; one that starts with a repeat is tried at every character.
_IBAN_START = re.compile(r"[A-Z][A-Z]\d\d")


def could_hold_personal_data(text: str) -> bool:
    """False when no part of ``text`` can hold personal data: masking any slice of it changes
    nothing. (Each kind needs something no slice has unless the whole text has it: an '@', two
    capitals and two digits, a run of digits, a plus sign.) Checked once per post, it spares the
    finders on each of the post's snippets."""
    if not FAST:
        return True
    return ("@" in text or _IBAN_START.search(text) is not None or _DIGIT_RUN.search(text) is not None
            or (_has_plus(text) and _ANY_DIGIT.search(text) is not None))


def kept_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Where the watched terms stand in ``text`` (case-insensitive, as whole words): never masked."""
    spans: list[tuple[int, int]] = []
    for term in dict.fromkeys(t.strip() for t in terms if t and t.strip()):
        try:
            pattern = re.compile(r"(?<!\w)" + re.escape(term) + r"(?!\w)", re.IGNORECASE)
        except re.error:
            continue
        spans.extend(m.span() for m in pattern.finditer(text[:MAX_SCAN]))
    return spans


def mask_text(text: str, terms: Iterable[str] = (), keep: Sequence[tuple[int, int]] = ()) -> str:
    """``text`` with its personal data masked (e-mail local parts, IBAN, NIR, cards, phones).

    The watched ``terms`` and the ``keep`` spans stay as they are: a finding whose masked part
    touches one of them is left whole. Text past :data:`MAX_SCAN` characters is cut off (it
    could not be checked). Never raises.
    """
    if not text:
        return text or ""
    text = text[:MAX_SCAN]
    found = find_personal_data(text)
    if not found and FAST:
        return text         # nothing to mask: the watched terms need not be looked for
    spans = [*keep, *kept_spans(text, terms)]
    out: list[str] = []
    at = 0
    for f in found:
        if _overlaps(f.mask_start, f.mask_end, spans):
            continue
        out.append(text[at:f.mask_start])
        out.append(MASK if f.kind == "email" else f"[{LABELS[f.kind]}]")
        at = f.mask_end
    out.append(text[at:])
    return "".join(out)


def count_personal_data(text: str) -> dict[str, int]:
    """How many of each kind (by :data:`KINDS` name) ``text`` carries; kinds not seen are left out."""
    counts: dict[str, int] = {}
    for f in find_personal_data(text):
        counts[f.kind] = counts.get(f.kind, 0) + 1
    return {kind: counts[kind] for kind in KINDS if kind in counts}


def masked_snippet(text: str, start: int, end: int, terms: Iterable[str] = (), width: int = 200, *,
                   mask: bool = True) -> str:
    """About ``width`` characters of ``text`` around ``start:end`` (the match), on one line, with
    personal data masked (unless ``mask`` is False) and the match kept. For ``hits``, exports and
    what the store keeps."""
    terms = list(terms)
    if not text:
        return ""
    if not 0 <= start <= end <= len(text):
        start = end = 0
    # A value cut by the window's edge is still seen whole (64 characters more), so it is masked whole.
    pad = 64
    before_chars = width * 2 // 5
    lo = max(0, start - before_chars - pad)
    hi = min(len(text), end + width + pad)
    left = mask_text(text[lo:start], terms) if mask else text[lo:start]
    right = mask_text(text[end:hi], terms) if mask else text[end:hi]
    middle = text[start:end]
    left = left[-before_chars:] if len(left) > before_chars else left
    right = right[:max(20, width - len(middle) - len(left))]
    shown = " ".join((left + middle + right).split())
    prefix = "…" if start - before_chars > 0 else ""
    suffix = "…" if end + len(right) < len(text) else ""
    return prefix + shown + suffix
