"""Masking of personal data and the triage line: validated detection, watched terms kept, any input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.alerts.htmltext import MAX_MESSAGE, utf16_len
from monitor.alerts.render import render_alert, render_digest
from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.privacy import count_personal_data, kept_spans, mask_text, masked_snippet
from monitor.records import HitView, Item
from monitor.triage import Triage, assess, claimed_kinds, claimed_records
from tests.fakebot import check_html

# Valid values (checksums hold) and the same values with one digit changed (checksums fail).
VALID = {
    "email": "jean.dupont@gmail.com",
    "phone_fr": "06 12 34 56 78",
    "phone_intl": "+44 20 7946 0958",
    "nir": "1 84 12 76 451 089 46",
    "iban": "FR76 3000 6000 0112 3456 7890 189",
    "card": "4970 1012 3456 7893",
}
WRONG = {
    "nir": "1 84 12 76 451 089 47",
    "iban": "FR76 3000 6000 0112 3456 7890 188",
    "card": "4970 1012 3456 7894",
}
SAMPLE = ("Dump CHU de Rennes, 758,912 patients: noms, prénoms, date de naissance, adresse, mutuelle, "
          "ordonnances.\nSample:\n" + "\n".join(f"{k}: {v}" for k, v in VALID.items())
          + "\nmarie.curie@chu-rennes.fr;02 99 28 43 21")


def test_every_valid_value_is_masked_and_the_rest_stays() -> None:
    masked = mask_text(SAMPLE, ["CHU de Rennes"])
    for value in VALID.values():
        assert value not in masked, value
    assert "•••@gmail.com" in masked and "•••@chu-rennes.fr" in masked
    assert "jean.dupont" not in masked and "marie.curie" not in masked
    for label in ("[NIR]", "[IBAN]", "[card]", "[phone]"):
        assert label in masked
    assert "CHU de Rennes, 758,912 patients: noms, prénoms" in masked


def test_values_failing_their_checksum_stay_as_they_are() -> None:
    text = "Order refs: " + " ; ".join(WRONG.values()) + " ; total 1 299,00 EUR ; SIRET 73282932000074"
    assert mask_text(text) == text
    assert count_personal_data(text) == {}


def test_watched_terms_stay_readable() -> None:
    text = "contact dpo@chu-rennes.fr or standard 02 99 28 43 21, patient jean@chu-rennes.fr"
    masked = mask_text(text, ["dpo@chu-rennes.fr", "02 99 28 43 21"])
    assert "dpo@chu-rennes.fr" in masked and "02 99 28 43 21" in masked
    assert "jean@" not in masked and "•••@chu-rennes.fr" in masked


def test_the_snippet_masks_values_cut_by_its_window() -> None:
    text = "x" * 300 + " Mediboard " + "06 12 34 56 78 " + "y" * 170 + " 07 98 76 54 32 end"
    start = text.index("Mediboard")
    snippet = masked_snippet(text, start, start + 9, ["Mediboard"], width=200)
    assert "Mediboard [phone]" in snippet
    assert "98 76" not in snippet and "54 32" not in snippet


@pytest.mark.parametrize("text, records", [
    ("758,912 patients", 758_912), ("758\u202f912 patients", 758_912), ("758\u00a0912 patients", 758_912),
    ("FR hospital 750k patients", 750_000), ("1.2M records", 1_200_000), ("3,012 lines", 3_012),
    ("1,2 million de lignes", 1_200_000), ("45 000 comptes clients", 45_000),
    ("price 500 USD, posted in 2024", None), ("10GB archive", None),
])
def test_claimed_records(text: str, records: int | None) -> None:
    assert claimed_records(text) == records


def test_claimed_kinds_in_french_and_english() -> None:
    expected = ["names", "DOB", "address", "insurance", "medical"]
    assert claimed_kinds("noms, prénoms, date de naissance, adresse, mutuelle, ordonnances") == expected
    assert claimed_kinds("names, DOB, addresses, insurance, prescriptions") == expected


def test_triage_counts_the_sample_and_raises_severity() -> None:
    triage = assess("FR hospital 750k patients", SAMPLE)
    assert triage.records == 758_912
    assert triage.seen == {"NIR": 1, "IBAN": 1, "card": 1, "e-mail": 2, "phone": 3}
    assert triage.line().startswith("758,912 records claimed · seen: NIR x1, IBAN x1, card x1, e-mail x2, phone x3")
    assert triage.sensitive and triage.severity("low") == "high" and triage.severity("critical") == "critical"
    assert Triage.from_json(triage.to_json()) == triage
    plain = assess("Mediboard theme pack", "free download, 12 icons")
    assert plain.records is None and plain.data == [] and plain.severity("low") == "low"
    assert plain.line() == "no record count · no personal data seen or claimed"


def _hit(title: str, text: str, term: str) -> HitView:
    start = text.find(term)
    item = Item(source="forum", item_id="1", url="http://forum.example/t/1", title=title, text=text)
    return HitView(id=1, watch=term or "w", kind="software", severity="medium", terms=(term,), field="text",
                   start=start, end=start + len(term), retro=False,
                   first_seen=datetime(2024, 11, 19, tzinfo=UTC), item=item)


def test_the_alert_is_masked_and_carries_the_triage_line() -> None:
    shown = check_html(render_alert([_hit("CHU de Rennes 758k patients " + VALID["email"], SAMPLE,
                                          "CHU de Rennes")], retro=False))
    for value in VALID.values():
        assert value not in shown
    assert "CHU de Rennes" in shown
    assert "📊 758,912 records claimed · seen: NIR x1" in shown
    unmasked = check_html(render_alert([_hit("t", SAMPLE, "CHU de Rennes")], retro=False, mask=False))
    assert VALID["phone_fr"] in unmasked or VALID["email"] in unmasked


def test_config_privacy_keys_and_the_older_retention_name(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[privacy]\nmask = false\nkeep_text = "7d"\nkeep_evidence = "1d"\n', encoding="utf-8")
    privacy = load_config(path).privacy
    assert (privacy.mask, privacy.keep_text, privacy.keep_evidence) == (False, 7 * 86400, 86400)
    path.write_text("[storage]\nretention_days = 10\n", encoding="utf-8")
    assert load_config(path).privacy.keep_text == 10 * 86400
    path.write_text('[storage]\nretention_days = 10\n[privacy]\nkeep_text = "7d"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"storage\.retention_days: is the older name of privacy\.keep_text"):
        load_config(path)
    path.write_text('[privacy]\nkeep_text = "soon"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"privacy\.keep_text: \"soon\" is not a duration"):
        load_config(path)


# ---------------------------------------------------------------- any input

_pieces = st.sampled_from([*VALID.values(), *WRONG.values(), "@", ".", " ", "\n", "+33", "<b>", "&", "\u202e",
                           "\u202f", "FR76", "2A", "x@y", "CHU de Rennes", "chu-rennes.fr"])
_texts = st.lists(_pieces | st.text(max_size=20), max_size=30).map("".join)
_terms = st.sampled_from(["CHU de Rennes", "chu-rennes.fr", "Mediboard", VALID["phone_fr"], VALID["email"]])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_texts, term=_terms)
def test_masking_never_raises_and_never_hides_the_watched_term(text: str, term: str) -> None:
    masked = mask_text(text, [term])
    assert len(kept_spans(masked, [term])) >= len(kept_spans(text, [term]))
    count_personal_data(text)
    assess(text, text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=_texts, after=_texts, title=_texts, term=_terms)
def test_a_masked_alert_is_valid_telegram_html_and_keeps_the_term(before: str, after: str, title: str,
                                                                    term: str) -> None:
    hit = _hit(title, before + " " + term + " " + after, term)
    message = render_alert([hit], retro=False)
    shown = check_html(message)
    assert utf16_len(shown) <= MAX_MESSAGE
    assert term in shown
    assert "📊" in shown
    for message in render_digest([[hit]] * 3):
        assert utf16_len(check_html(message)) <= MAX_MESSAGE
