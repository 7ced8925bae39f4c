"""Triage at a glance: how many records a leak post claims, and which kinds of personal data it
carries (counted in its sample) or claims (in words, French or English). Pure functions, no I/O.

The assessment of a post is computed once, when the post first gets a hit, and stored with it: the
alert, ``hits`` and every export show the same figures, and they outlive the post's text when the
retention rules erase it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import compress

from monitor.normalize import JOIN, fold, match_form
from monitor.privacy import KINDS, LABELS, MAX_SCAN, count_personal_data

SEVERITIES = ("low", "medium", "high", "critical")

# ---------------------------------------------------------------- claimed record counts

# "758,912" / "758 912" (space, NBSP, narrow NBSP) / "758.912" / "750k" / "1.2M" / "1,2 million"
# The first digit is matched before what precedes it is checked ("\d(?<![\w.,]\d)" is
# "(?<![\w.,])\d"): the search then skips in C to the next digit instead of trying the
# lookbehind at every character (~2.3x faster on forum posts; tested against the other form).
# After that digit, "\d{0,2}..." and "\d*..." are the "\d{1,3}..." and "\d+..." of each reading.
_NUMBER = (r"(?P<num>\d(?<![\w.,]\d)(?:\d{0,2}(?:(?:,|\.|[ \u00a0\u202f])\d{3})+|\d*(?:[.,]\d{1,2})?))"
           r"[ \u00a0\u202f]?(?P<mult>[kKmM]\b|[mM]ln\b|[mM]io\b|millions?\b|thousand\b|milliers?\b|mille\b|"
           r"billion\b|milliards?\b)?")
_UNITS = (r"records?|rows?|lines?|entries|entry|users?|accounts?|patients?|customers?|clients?|people|persons?|"
          r"employees?|members?|e-?mails?|profiles?|contacts?|citizens?|students?|subscribers?|"
          r"lignes?|enregistrements?|utilisateurs?|comptes?|personnes?|dossiers?|salari[ée]s?|adh[ée]rents?|"
          r"fiches?|profils?|abonn[ée]s?|[ée]l[èe]ves?|agents?|identit[ée]s?")
_COUNT = re.compile(_NUMBER + r"[ \u00a0\u202f]*(?:[^\W\d]+[ \u00a0\u202f]+){0,2}?(?:" + _UNITS + r")\b",
                    re.IGNORECASE)
_MULTIPLIERS = {"k": 1_000, "thousand": 1_000, "millier": 1_000, "milliers": 1_000, "mille": 1_000,
                "m": 1_000_000, "mln": 1_000_000, "mio": 1_000_000, "million": 1_000_000,
                "millions": 1_000_000, "billion": 1_000_000_000, "milliard": 1_000_000_000,
                "milliards": 1_000_000_000}
_MAX_RECORDS = 10_000_000_000          # more than every person alive: not a record count
_COUNT_SCAN = 50_000                   # claims are made up front; samples follow


def _value(number: str, mult: str | None) -> int | None:
    factor = _MULTIPLIERS.get((mult or "").lower(), 1)
    if re.fullmatch(r"\d{1,3}(?:(?:,|\.|[ \u00a0\u202f])\d{3})+", number) and factor == 1:
        return int(re.sub(r"\D", "", number))
    try:
        value = float(number.replace(",", ".").replace(" ", "").replace("\u00a0", "").replace("\u202f", ""))
    except ValueError:
        return None
    return round(value * factor)


def claimed_records(*texts: str | None) -> int | None:
    """The largest record count the texts claim ("758,912 patients", "750k", "1.2M records",
    "3 012 lignes"), or None when they claim none."""
    best: int | None = None
    for text in texts:
        for m in _COUNT.finditer((text or "")[:_COUNT_SCAN]):
            value = _value(m.group("num"), m.group("mult"))
            if value is not None and 1 < value < _MAX_RECORDS and (best is None or value > best):
                best = value
    return best


# ---------------------------------------------------------------- claimed kinds of data

# label -> phrases, in match form (lower case, no accents, punctuation as spaces)
CLAIMED: dict[str, tuple[str, ...]] = {
    "names": ("nom", "noms", "prenom", "prenoms", "name", "names", "full name", "full names", "first name",
              "first names", "last name", "last names", "surname", "surnames", "nom de famille"),
    "DOB": ("date de naissance", "dates de naissance", "ddn", "dob", "date of birth", "dates of birth",
            "birth date", "birth dates", "birthdate", "birthdates", "birthday"),
    "address": ("adresse", "adresses", "adresse postale", "address", "addresses", "postal address",
                "home address"),
    "phone": ("telephone", "telephones", "tel", "phone", "phones", "phone number", "phone numbers",
              "numero de telephone", "numeros de telephone", "mobile", "portable"),
    "e-mail": ("email", "emails", "e mail", "e mails", "mail", "mails", "courriel", "courriels"),
    "NIR": ("nir", "numero de securite sociale", "numeros de securite sociale", "securite sociale",
            "n secu", "secu", "social security number", "social security numbers", "ssn", "insee",
            "carte vitale"),
    "insurance": ("mutuelle", "mutuelles", "assurance", "assurances", "insurance", "health insurance",
                  "insurer", "complementaire sante"),
    "medical": ("ordonnance", "ordonnances", "prescription", "prescriptions", "dossier medical",
                "dossiers medicaux", "medical record", "medical records", "medical data", "medical history",
                "donnees medicales", "donnees de sante", "health data", "health records", "diagnostic",
                "diagnostics", "diagnosis", "diagnoses", "pathologie", "pathologies", "antecedents",
                "compte rendu", "comptes rendus", "resultats d analyses", "lab results", "traitement",
                "traitements", "treatment", "treatments", "medicaments", "medication", "medications",
                "imagerie", "radiologie", "allergies", "hospitalisation", "hospitalisations"),
    "IBAN": ("iban", "ibans", "rib", "ribs", "bic", "bank details", "bank account", "bank accounts",
             "coordonnees bancaires"),
    "card": ("carte bancaire", "cartes bancaires", "credit card", "credit cards", "card number",
             "card numbers", "cvv", "cb"),
    "password": ("password", "passwords", "mot de passe", "mots de passe", "mdp", "hash", "hashes",
                 "credentials", "identifiants"),
    "ID document": ("piece d identite", "pieces d identite", "carte d identite", "cni", "passport",
                    "passports", "passeport", "passeports", "id card", "id cards"),
}
_PHRASE_LABEL = {phrase: label for label, phrases in CLAIMED.items() for phrase in phrases}


def _phrase_index(phrase_label: Mapping[str, str]) -> tuple[re.Pattern[str], dict[str, list[tuple[list[str], str]]]]:
    """The regex of the phrases (longest first), and the phrases by their first word, most words first."""
    pattern = re.compile(r"(?<![a-z0-9])(" + "|".join(sorted(map(re.escape, phrase_label), key=len, reverse=True))
                         + r")(?![a-z0-9])")
    by_first: dict[str, list[tuple[list[str], str]]] = {}
    for phrase in sorted(phrase_label, key=lambda p: p.count(" "), reverse=True):
        by_first.setdefault(phrase.split(" ")[0], []).append((phrase.split(" "), phrase_label[phrase]))
    return pattern, by_first


_CLAIMED, _BY_FIRST = _phrase_index(_PHRASE_LABEL)
ORDER = tuple(CLAIMED)
_SEEN_LABEL = {kind: LABELS[kind] for kind in KINDS}     # privacy kind -> label above
_SEEN_ORDER = ("nir", "iban", "card", "email", "phone")   # the most sensitive first on the triage line


def _labels_named(folded: str) -> set[str]:
    """The labels of the phrases :data:`_CLAIMED` finds in a match-form text.

    An ASCII match form is words of [a-z0-9] joined by single spaces, so the regex can only
    match whole words, and at each word it takes the phrase of most words that starts there,
    then goes on after it: the same walk is done by :func:`_labels_in_words` (many times faster
    than the alternation tried at every character). Other text (a letter without an ASCII fold
    left in it, such as "œ", bounds a word for the regex) goes through the regex.
    """
    if not folded.isascii():
        return {_PHRASE_LABEL[m.group(1)] for m in _CLAIMED.finditer(folded)}
    return _labels_in_words(folded.split(" "))


def _labels_in_words(words: list[str]) -> set[str]:
    """The regex's walk over the words of an ASCII match form: at each word, the phrase of most
    words that starts there, then on after it. Only the words that start a phrase are visited
    (found in C: a post names a few of them, among hundreds of words)."""
    by_first = _BY_FIRST
    firsts = by_first.keys() & words
    if not firsts:
        return set()
    found: set[str] = set()
    free = 0                            # the first word not inside a phrase already taken
    for at in compress(range(len(words)), map(firsts.__contains__, words)):    # in C, in order
        if at < free:
            continue
        for phrase, label in by_first[words[at]]:
            size = len(phrase)
            if size == 1 or words[at:at + size] == phrase:
                found.add(label)
                free = at + size
                break
    return found


def claimed_kinds(*texts: str | None) -> list[str]:
    """The kinds of personal data the texts name in words, French or English, as labels in
    :data:`ORDER` ("noms, prénoms, date de naissance" -> names, DOB)."""
    found: set[str] = set()
    for text in texts:
        part = (text or "")[:_COUNT_SCAN]
        folded = fold(part)
        if folded.isascii():
            # The words of the match form, without building it: its single spaces and stripped
            # ends are what split() gives (a fold holds no whitespace but spaces).
            found.update(_labels_in_words(folded.replace(JOIN, "").split()))
        else:
            found.update(_labels_named(match_form(part)))
    return [label for label in ORDER if label in found]


# ---------------------------------------------------------------- the assessment

@dataclass(frozen=True)
class Triage:
    """``records``: claimed count or None; ``seen``: label -> count of values found in the sample;
    ``claimed``: labels named in words; ``capped``: the text was longer than what was scanned."""

    records: int | None = None
    seen: Mapping[str, int] = field(default_factory=dict)
    claimed: tuple[str, ...] = ()
    capped: bool = False

    @property
    def data(self) -> list[str]:
        """Every kind of personal data seen or claimed, in :data:`ORDER`."""
        kinds = set(self.seen) | set(self.claimed)
        return [label for label in ORDER if label in kinds]

    @property
    def sensitive(self) -> bool:
        """NIR or medical data: the post is at least ``high``."""
        return bool({"NIR", "medical"} & set(self.data))

    def severity(self, configured: str) -> str:
        """The entry's severity, raised to ``high`` for a post with NIR or medical data."""
        if self.sensitive and SEVERITIES.index(configured if configured in SEVERITIES else "medium") < 2:
            return "high"
        return configured

    def line(self) -> str:
        """One plain-text line: "758,912 records claimed · seen: NIR x3, e-mail x12 · claimed: names, DOB"."""
        parts = [f"{self.records:,} records claimed" if self.records is not None else "no record count"]
        if self.seen:
            more = "+" if self.capped else ""
            parts.append("seen: " + ", ".join(f"{label} x{count}{more}" for label, count in self.seen.items()))
        if self.claimed:
            parts.append("claimed: " + ", ".join(self.claimed))
        if not self.seen and not self.claimed:
            parts.append("no personal data seen or claimed")
        return " · ".join(parts)

    def to_json(self) -> str:
        return json.dumps({"records": self.records, "seen": dict(self.seen), "claimed": list(self.claimed),
                           "capped": self.capped}, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> Triage | None:
        """The stored form back; None for nothing stored (or anything unreadable)."""
        if not text:
            return None
        try:
            raw = json.loads(text)
            records = raw.get("records")
            seen = {str(k): int(v) for k, v in dict(raw.get("seen") or {}).items()}
            order = [_SEEN_LABEL[kind] for kind in _SEEN_ORDER]
            return cls(records=records if isinstance(records, int) else None,
                       seen={k: seen[k] for k in sorted(seen, key=lambda k: (k not in order, order.index(k)
                                                                               if k in order else 0, k))},
                       claimed=tuple(str(x) for x in raw.get("claimed") or ()),
                       capped=bool(raw.get("capped")))
        except (ValueError, TypeError, AttributeError):
            return None


def assess(title: str | None, text: str | None) -> Triage:
    """The triage of one post: claimed records, data kinds seen in its sample and claimed in words."""
    body = text or ""
    counts = count_personal_data((title or "") + "\n" + body)
    seen = {_SEEN_LABEL[kind]: counts[kind] for kind in _SEEN_ORDER if kind in counts}
    return Triage(records=claimed_records(title, body), seen=seen,
                  claimed=tuple(claimed_kinds(title, body)), capped=len(body) > MAX_SCAN)
