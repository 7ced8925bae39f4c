"""Alert rendering: escaping, invisible characters, the 4096 limit, snippets, digests, health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.alerts.htmltext import MAX_MESSAGE, to_plain, utf16_len
from monitor.alerts.render import pack_digest, render_alert, render_digest, render_health, render_text
from monitor.records import HitView, Item
from tests.fakebot import MarkupError, check_html

NOW = datetime(2024, 11, 19, 10, 22, tzinfo=UTC)
POST = ("Selling the full database of a French hospital group. The records were taken through the "
        "Mediboard account of the establishment: 758,912 patients, names, addresses, social security "
        "numbers. Sample below, price in XMR, contact on session.")
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"


def make_hit(*, hit_id: int = 12, watch: str = "Mediboard", term: str = "Mediboard",
             title: str = "FR hospital 750k patients", text: str | None = POST,
             author: str | None = "kzoldyck", url: str = "http://forumxyz.onion/Thread-FR-hospital?tid=4242",
             severity: str = "high", retro: bool = False, field: str = "text",
             start: int | None = None, end: int | None = None, date: datetime | None = NOW) -> HitView:
    source_text = text if field == "text" else title
    if start is None:
        start = (source_text or "").find(term)
        end = start + len(term)
    item = Item(source="breachforums-databases", item_id="4242", url=url, title=title, text=text,
                author=author, date=date)
    return HitView(id=hit_id, watch=watch, kind="software", severity=severity, terms=(term,), field=field,
                   start=start, end=end if end is not None else start + len(term), retro=retro,
                   first_seen=NOW, item=item)


def visible(message: str) -> str:
    return check_html(message)     # raises MarkupError when Telegram would refuse it


# ---------------------------------------------------------------- the alert


def test_alert_carries_every_piece() -> None:
    message = render_alert([make_hit()], retro=False)
    shown = visible(message)
    assert "HIGH" in shown and "🔴" in shown
    assert "Mediboard" in shown
    assert "breachforums-databases" in shown
    assert '<a href="http://forumxyz.onion/Thread-FR-hospital?tid=4242">FR hospital 750k patients</a>' in message
    assert "kzoldyck" in shown
    assert "2024-11-19 10:22 UTC" in shown
    assert "hit #12" in shown
    assert "retro-hunt" not in shown


def test_snippet_has_the_term_in_bold_with_context() -> None:
    message = render_alert([make_hit()], retro=False)
    assert "through the <b>Mediboard</b> account of" in message
    # a snippet, not the whole post
    assert "contact on session" not in message or len(POST) < 200


def test_snippet_is_short_around_a_match_deep_in_a_long_post() -> None:
    text = ("lorem ipsum dolor " * 2000) + "the CHU de Rennes dump is here " + ("sit amet " * 2000)
    hit = make_hit(watch="CHU de Rennes", term="CHU de Rennes", text=text)
    message = render_alert([hit], retro=False)
    shown = visible(message)
    assert "<b>CHU de Rennes</b>" in message
    snippet = message.split("<blockquote>")[1].split("</blockquote>")[0]
    assert 100 < utf16_len(check_html(snippet)) < 400
    assert snippet.startswith("…") and snippet.endswith("…")
    assert utf16_len(shown) < 1500


def test_stale_offsets_fall_back_to_finding_the_term() -> None:
    hit = make_hit(start=5000, end=5009)       # the text changed since the hit was stored
    message = render_alert([hit], retro=False)
    assert "<b>Mediboard</b>" in message


def test_title_only_match_shows_the_title_term_in_bold() -> None:
    hit = make_hit(title="Leak: Mediboard export", text=None, field="title")
    message = render_alert([hit], retro=False)
    assert "Leak: <b>Mediboard</b> export" in message
    visible(message)


def test_retro_mark_severity_and_all_watches_of_the_item() -> None:
    hits = [make_hit(hit_id=3, watch="Mediboard", severity="medium", retro=True),
            make_hit(hit_id=4, watch="CHU de Rennes", term="hospital", severity="critical", retro=True)]
    message = render_alert(hits, retro=True)
    shown = visible(message)
    assert "CRITICAL" in shown and "MEDIUM" not in shown
    assert "Mediboard" in shown and "CHU de Rennes" in shown
    assert "#3" in shown and "#4" in shown
    assert "retro-hunt" in shown


@pytest.mark.parametrize("hostile", ["<script>alert(1)</script>", "AT&T & co", "\"quoted\" 'single'",
                                     "</a><b>", "&amp;lt;", "<b>bold</b"])
def test_scraped_markup_is_escaped_everywhere(hostile: str) -> None:
    text = f"{hostile} Mediboard {hostile}"
    hit = make_hit(title=hostile, author=hostile, text=text, watch=hostile + " watch", term="Mediboard")
    message = render_alert([hit], retro=False)
    shown = visible(message)
    assert shown.count(hostile) >= 3       # title, author, snippet: shown literally, not interpreted
    assert "<script>" not in message


def test_bidi_zero_width_and_control_characters_are_removed() -> None:
    title = f"pay{BIDI}ment{ZERO_WIDTH}s\x00\x07\x1b[31m"
    text = f"invoice\u202egnp.exe Medi{ZERO_WIDTH}board? no: Mediboard{BIDI} here"
    hit = make_hit(title=title, text=text, author="ad\u202emin\x08")
    message = render_alert([hit], retro=False)
    shown = visible(message)
    for ch in BIDI + ZERO_WIDTH + "\x00\x07\x1b\x08":
        assert ch not in shown
    assert "payments[31m" in shown
    assert "invoicegnp.exe" in shown
    assert "admin" in shown


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "file:///etc/passwd",
                                 "http://a b.onion/x", "http://x.onion/\u202ecod.exe", ""])
def test_only_http_urls_become_links(url: str) -> None:
    message = render_alert([make_hit(url=url)], retro=False)
    assert "<a " not in message
    assert "FR hospital 750k patients" in visible(message)


def test_link_url_is_attribute_escaped_and_tme_links_work() -> None:
    message = render_alert([make_hit(url='http://x.onion/t?a=1&b="2"<x>')], retro=False)
    assert 'href="http://x.onion/t?a=1&amp;b=&quot;2&quot;&lt;x&gt;"' in message
    visible(message)
    message = render_alert([make_hit(url="t.me/leakchannel/123")], retro=False)
    assert 'href="https://t.me/leakchannel/123"' in message


def test_unknown_author_and_date_are_left_out() -> None:
    shown = visible(render_alert([make_hit(author=None, date=None)], retro=False))
    assert "👤" not in shown and "🗓" not in shown


def test_huge_fields_stay_within_4096_units() -> None:
    huge = "Ⅿ𝔢𝔡𝔦" * 20000                      # astral characters count twice in UTF-16
    text = huge + " Mediboard " + huge
    hits = [make_hit(hit_id=i, watch=f"{huge[:300]} {i}", term="Mediboard", title=huge, author=huge,
                     text=text, url="http://x.onion/" + "a" * 5000)
            for i in range(300)]
    message = render_alert(hits, retro=True)
    shown = visible(message)
    assert utf16_len(shown) <= MAX_MESSAGE
    assert "<b>Mediboard</b>" in message
    assert "more" in shown      # the list of 300 watch entries is cut, and says so


def test_a_cut_never_splits_an_escape_or_a_surrogate_pair() -> None:
    title = "&" * 5000 + "😀" * 5000
    message = render_alert([make_hit(title=title, text="Mediboard " + "<>&" * 3000)], retro=False)
    visible(message)


def test_invisible_padding_cannot_blank_a_title() -> None:
    shown = visible(render_alert([make_hit(title=ZERO_WIDTH * 4000 + "real title")], retro=False))
    assert "real title" in shown


def test_lone_surrogates_are_dropped() -> None:
    message = render_alert([make_hit(title="bad \ud800 title", text="Mediboard \udfff")], retro=False)
    message.encode("utf-8")      # would raise on a lone surrogate
    visible(message)


# ---------------------------------------------------------------- digests


def test_digest_splits_and_includes_every_item_once() -> None:
    items = [[make_hit(hit_id=i, title=f"Thread number {i} " + "x" * 150,
                       text="filler " * 50 + f"Mediboard item{i} " + "filler " * 50)] for i in range(60)]
    messages = render_digest(items)
    assert len(messages) > 1
    seen: list[int] = []
    for i, message in enumerate(messages):
        shown = visible(message)
        assert utf16_len(shown) <= MAX_MESSAGE
        assert f"part {i + 1}/{len(messages)}" in shown
        seen += [n for n in range(60) if f"Thread number {n} " in shown]
    assert sorted(seen) == list(range(60))
    packed = pack_digest(items)
    assert sorted(i for _, indexes in packed for i in indexes) == list(range(60))


def test_digest_of_huge_items_still_fits() -> None:
    huge = "𝔐" * 30000
    items = [[make_hit(hit_id=i, title=huge, author=huge, text=huge + " Mediboard " + huge,
                       watch=huge)] for i in range(25)]
    messages = render_digest(items)
    assert sum(visible(m).count("hit #") for m in messages) == 25
    for message in messages:
        assert utf16_len(visible(message)) <= MAX_MESSAGE


def test_digest_marks_retro_items() -> None:
    items = [[make_hit(hit_id=1, retro=True)], [make_hit(hit_id=2)]]
    shown = visible(render_digest(items)[0])
    assert shown.count("retro-hunt") == 1


# ---------------------------------------------------------------- health, text, plain


def test_health_messages() -> None:
    failing = render_health({"source": "bf<db>", "event": "failing", "reason": "HTTP 503 & <b>",
                             "failures": 3, "since": "2024-11-19T10:22:00+00:00"})
    shown = visible(failing)
    assert "bf<db>" in shown and "HTTP 503 & <b>" in shown and "3 consecutive" in shown
    assert "2024-11-19 10:22 UTC" in shown
    recovered = visible(render_health({"source": "zataz", "event": "recovered", "failures": 4,
                                       "since": NOW - timedelta(hours=1)}))
    assert "recovered" in recovered and "zataz" in recovered and "4 failed polls" in recovered
    config = visible(render_health({"event": "config_error", "file": "config.toml",
                                    "error": 'config.toml: source[2].interval: "5x" is not a duration'}))
    assert 'source[2].interval: "5x"' in config and "previous configuration" in config
    refused = visible(render_health({"event": "delivery_refused", "chat": "soc", "reason": "Chat not found"}))
    assert "soc" in refused and "Chat not found" in refused
    other = visible(render_health({"event": "something", "x": {"a": 1}}))
    assert "something" in other


def test_text_keeps_lines_and_escapes() -> None:
    message = render_text({"text": "line one <x>\nline two & \u202e"})
    assert visible(message) == "line one <x>\nline two &"
    assert visible(render_text({"text": "z" * 10000}))
    assert utf16_len(visible(render_text({"text": "😀" * 5000}))) <= MAX_MESSAGE


def test_to_plain() -> None:
    message = render_alert([make_hit(title="A <b> & title")], retro=False)
    plain = to_plain(message)
    assert "<b>" not in plain.replace("A <b> & title", "")
    assert "A <b> & title (http://forumxyz.onion/Thread-FR-hospital?tid=4242)" in plain
    assert "through the Mediboard account" in plain
    assert to_plain("<b>broken <i>markup &amp; x") == "broken markup & x"


def test_the_checker_itself_refuses_what_telegram_refuses() -> None:
    for bad in ["<script>x</script>", "a & b", "<b>x", "<b><i>x</b></i>", "1 < 2", "&nbsp;",
                '<a href="javascript:x">x</a>', "<a href='http://x'><a href='http://y'>y</a></a>", ""]:
        with pytest.raises(MarkupError):
            check_html(bad)
    with pytest.raises(MarkupError, match="too long"):
        check_html("x" * 4097)
    assert check_html('<b>x</b> &amp; <a href="http://a/?a=1&amp;b=2">t</a> &#128512;') == "x & t 😀"


# ---------------------------------------------------------------- any input


_plain_text = st.text(st.characters(codec="utf-8") | st.sampled_from(list(BIDI + ZERO_WIDTH + "<>&\"'\n\x00")),
                      max_size=400)
# personal data (valid and wrong checksums) among the text, so that masking runs on any input too
_PERSONAL = ["jean.dupont@gmail.com", "06 12 34 56 78", "+44 20 7946 0958", "1 84 12 76 451 089 46",
             "FR76 3000 6000 0112 3456 7890 189", "4970 1012 3456 7893", "4970 1012 3456 7894", "@", "+33"]
_any_text = _plain_text | st.lists(_plain_text | st.sampled_from(_PERSONAL), max_size=8).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=_any_text, author=_any_text, text=_any_text, watch=_any_text.filter(str.strip),
       term=_any_text.filter(str.strip), url=_any_text, start=st.integers(-5, 500), length=st.integers(0, 50),
       retro=st.booleans(), repeat=st.integers(1, 40))
def test_any_scraped_text_renders_to_valid_html_within_the_limit(
        title: str, author: str, text: str, watch: str, term: str, url: str, start: int, length: int,
        retro: bool, repeat: int) -> None:
    hit = make_hit(title=title * repeat, author=author * repeat, text=text * repeat, watch=watch, term=term,
                   url=url, start=start, end=start + length, retro=retro)
    message = render_alert([hit], retro=retro)
    shown = check_html(message)
    assert utf16_len(shown) <= MAX_MESSAGE
    for ch in BIDI + ZERO_WIDTH + "\x00":
        assert ch not in shown
    for message in render_digest([[hit]] * 3):
        assert utf16_len(check_html(message)) <= MAX_MESSAGE
