"""sources.json: presets (ransomware.live v2 and legacy, RansomLook, ransomwatch, HIBP) and dotted paths."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

import pytest

from monitor.errors import ConfigError, NotModified, ParseError
from sources import json as json_source
from tests.support.sources import FakeFetcher, FakeState, fixture, options, page

UTC = UTC
RL_API = "https://api.ransomware.live/v2/recentvictims"


def parse(name_or_body: str | bytes, url: str = RL_API, **keys: object) -> list:
    body = fixture(name_or_body) if isinstance(name_or_body, str) else name_or_body
    return json_source.parse(page(url, body, "application/json"), options("json", url, **keys))  # type: ignore[arg-type]


def test_ransomware_live_v2(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        items = parse("ransomwarelive_v2_recentvictims.json", preset="ransomware.live")
    assert [item.title for item in items] == ["CHU de Rennes", "Greenwood Fabricating & Plating",
                                              "CHU de Rennesson <script>alert(1)</script>"]
    chu = items[0]
    assert chu.item_id == "rl-88217"
    assert chu.author == "lockbit3"
    assert chu.url.startswith("http://lockbit7z2example") and chu.url.endswith(".onion/post/chu-rennes")
    assert chu.date == datetime(2024, 11, 19, 22, 10, tzinfo=UTC)
    assert chu.text == ("Centre hospitalier universitaire de Rennes: 1.2 TB exfiltrated, <b>publication in 7 days</b>.\n"
                        "Domain: chu-rennes.fr\nCountry: FR\nActivity: Healthcare")
    # no id: "<group>|<title>|<discovered date>"; empty claim_url falls back to url
    assert items[1].item_id == "akira|Greenwood Fabricating & Plating|2024-11-19"
    assert items[1].url == "https://www.ransomware.live/id/akira-greenwood"
    # no url at all: the API URL
    assert items[2].url == RL_API
    # "not an object" and the record without a victim are skipped and counted
    assert "2 record(s) skipped" in caplog.text


def test_ransomware_live_legacy() -> None:
    items = parse("ransomwarelive_legacy_posts.json", preset="ransomware.live")
    assert [item.item_id for item in items] == ["suncrypt|Clinique Mediboard-Test SAS|2024-11-18",
                                                "avoslocker|Moorfields NHS UK & Dubai|2024-09-01",
                                                "lockbit2|hammer-poznan.p...|2024-09-09"]
    first = items[0]
    assert first.title == "Clinique Mediboard-Test SAS"
    assert first.author == "suncrypt"
    assert first.url.endswith(".onion/clinique")
    assert first.date == datetime(2024, 11, 18, 20, 0, tzinfo=UTC)   # published
    assert items[1].url == RL_API                                     # empty post_url


def test_ransomlook() -> None:
    url = "https://www.ransomlook.io/api/recent"
    items = parse("ransomlook_recent.json", url, preset="ransomlook")
    assert [item.item_id for item in items] == ["ransomhub|hopital-saint-joseph.fr|2024-11-20",
                                                "ragnarlocker|Leaks from company EDP Group|2024-11-19",
                                                "alphv|SVA Jean Rozé - sva-jeanroze.fr|2024-11-19"]
    assert items[0].text == "Hôpital Saint-Joseph (Paris). 400 GB: HR, patients, finance."
    assert items[0].url == url                     # a relative link is not a usable URL
    assert items[1].url.endswith(".onion/edp")
    assert items[0].date == datetime(2024, 11, 20, 7, 12, 0, 123456, tzinfo=UTC)


def test_ransomwatch_dedupes_and_unescapes() -> None:
    url = "https://raw.githubusercontent.example/ransomwatch/posts.json"
    items = parse("ransomwatch_posts.json", url, preset="ransomwatch")
    assert [item.title for item in items] == ["Windemuller", "Greenwood Fabricating & Plating", "Softway Medical"]
    assert items[1].author == "xinglocker"


def test_hibp_breaches_and_latest_breach() -> None:
    url = "https://haveibeenpwned.com/api/v3/breaches"
    items = parse("hibp_breaches.json", url, preset="hibp")
    assert [item.item_id for item in items] == ["MediboardClinicNet", "Adobe"]
    first = items[0]
    assert first.title == "Mediboard Clinic Network"
    assert first.url == "https://haveibeenpwned.com/PwnedWebsites#MediboardClinicNet"
    assert first.date == datetime(2024, 11, 20, 8, 0, tzinfo=UTC)
    assert first.text == ("In October 2024, the clinic network running Mediboard suffered a data breach.\n"
                          "The data included names & email addresses.\nDomain: clinic-network.example\n"
                          "Breach date: 2024-10-30\nAccounts: 758912\nData: Email addresses, Names, Phone numbers")
    latest = parse("hibp_latestbreach.json", "https://haveibeenpwned.com/api/v3/latestbreach", preset="hibp")
    assert [item.item_id for item in latest] == ["CHURennesPortal"]


def test_generic_paths_and_fields() -> None:
    document = {"data": {"victims": [
        {"ref": 17, "name": "Hôpital &amp; Co", "meta": {"link": "/v/17", "when": "2024-11-20T10:00:00Z"},
         "desc": "<p>line<br>two</p>", "by": "grp"},
        {"name": "no id, no url", "meta": {"when": "2024-11-19"}},
        {"ref": 18},
    ]}}
    url = "https://tracker.example.org/api/v1/list"
    items = parse(json.dumps(document).encode(), url, items="data.victims",
                  fields={"id": "ref", "title": "name", "url": "meta.link", "date": "meta.when", "body": "desc",
                          "author": "by"})
    assert len(items) == 2
    first, second = items
    assert (first.item_id, first.title, first.url, first.author) == ("17", "Hôpital & Co",
                                                                     "https://tracker.example.org/v/17", "grp")
    assert first.text == "line\ntwo"
    assert first.date == datetime(2024, 11, 20, 10, 0, tzinfo=UTC)
    assert second.item_id.startswith("sha256:") and second.url == url


def test_generic_id_defaults_to_the_url() -> None:
    body = b'[{"t": "a", "u": "https://x.example/1"}, {"t": "b", "u": "https://x.example/2"}]'
    items = parse(body, "https://x.example/api", items="", fields={"title": "t", "url": "u"})
    assert [item.item_id for item in items] == ["https://x.example/1", "https://x.example/2"]


def test_a_preset_field_can_be_overridden() -> None:
    items = parse("ransomwarelive_v2_recentvictims.json", preset="ransomware.live", fields={"title": "domain"})
    assert items[0].title == "chu-rennes.fr"
    assert items[0].item_id == "rl-88217"


@pytest.mark.parametrize(("body", "items_path", "message"), [
    (b"{not json", "", "invalid JSON"),
    (b"", "", "invalid JSON: empty document"),
    (b'{"data": {"rows": []}}', "data.victims", 'JSON path "data.victims" not found'),
    (b'{"data": {"victims": {"a": 1}}}', "data.victims", 'JSON path "data.victims" is not a list'),
    (b'{"a": 1}', "", "the JSON document is not a list"),
    (b"[" * 100000, "", "invalid JSON"),
    (b"1" * 5000, "", "invalid JSON"),
])
def test_bad_documents_are_parse_errors(body: bytes, items_path: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(body, "https://x.example/api", items=items_path, fields={"title": "t"})


def test_an_html_answer_is_explained() -> None:
    with pytest.raises(ParseError, match="^login or challenge page$"):
        parse("hostile_cloudflare_challenge.html", preset="ransomware.live")
    with pytest.raises(ParseError, match="invalid JSON: the server answered with an HTML page"):
        parse("telegram_channel_empty.html", preset="ransomware.live")


def test_collect_is_conditional() -> None:
    fetch = FakeFetcher(RL_API, {RL_API: fixture("ransomwarelive_v2_recentvictims.json")})
    opts = options("json", RL_API, preset="ransomware.live")
    assert len(asyncio.run(json_source.collect(fetch, opts, FakeState().state))) == 3  # type: ignore[arg-type]
    assert fetch.requests == [(RL_API, True)]
    fetch.unchanged.add(RL_API)
    with pytest.raises(NotModified):
        asyncio.run(json_source.collect(fetch, opts, FakeState().state))  # type: ignore[arg-type]


@pytest.mark.parametrize(("keys", "key", "problem"), [
    ({"preset": "shodan"}, "preset", "is not a json preset"),
    ({"fields": {"title": "t"}}, "items", "is required"),
    ({"items": "data"}, "fields.title", "is required"),
    ({"items": "", "fields": {"title": "t", "colour": "c"}}, "fields.colour", "unknown field"),
    ({"items": "", "fields": {"title": ""}}, "fields.title", "dotted path"),
    ({"preset": "hibp", "selectors": {"item": "x"}}, "selectors", "makes no sense"),
    ({"preset": "hibp", "follow": True}, "follow", "not supported"),
    ({"preset": "hibp", "pages": 2}, "pages", "makes no sense"),
])
def test_make_options_rejects_mistakes(keys: dict, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        options("json", RL_API, **keys)
    assert info.value.key == key
    assert problem in info.value.problem
