"""sources.common: decoding, visible text, challenge pages, dates, URLs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.errors import ParseError
from sources.common import (
    absolute_url,
    decode_html,
    html_text,
    raw_text,
    title_text,
)
from sources.dates import parse_date
from sources.pagechecks import check_challenge
from tests.support.sources import fixture, page

UTC = UTC


def text_of(html: bytes | str, selector: str = "body") -> str:
    body = html.encode("utf-8") if isinstance(html, str) else html
    return html_text(decode_html(body).css_first(selector))


def test_html_text_keeps_line_breaks_of_br_and_blocks() -> None:
    html = "<div>first <b>bold</b>\n   line<br>second<p>third</p><div>fourth</div>x<br/><br/>y</div>"
    assert text_of(html, "div") == "first bold line\nsecond\nthird\nfourth\nx\n\ny"


def test_html_text_leaves_out_scripts_and_styles_and_tidies_spaces() -> None:
    html = "<div>  a \t  b<script>alert('x')</script><style>p{}</style>&nbsp;c </div>"
    assert text_of(html, "div") == "a b c"


def test_html_text_keeps_pre_lines_and_table_cells_apart() -> None:
    html = "<div><pre>id;name\n1;dupont</pre><table><tr><td>a</td><td>b</td></tr></table></div>"
    assert text_of(html, "div") == "id;name\n1;dupont\na b"


def test_html_text_drops_bidi_and_zero_width_characters() -> None:
    assert text_of("<p>Medi\u200bboard invoice\u202efdp.exe</p>", "p") == "Mediboard invoicefdp.exe"


def test_html_text_survives_very_deep_nesting() -> None:
    assert text_of(b"<div>" * 20000 + b"deep") == "deep"


def test_html_text_of_nothing_is_empty() -> None:
    assert html_text(None) == ""


def test_decode_html_reads_latin1_without_charset() -> None:
    tree = decode_html(fixture("hostile_latin1_nocharset.html"))
    assert "Hôpital Saint-Étienne" in html_text(tree.body)


def test_decode_html_honours_meta_charset_and_http_charset() -> None:
    cyrillic = "<meta charset='windows-1251'><p>Привет</p>".encode("cp1251")
    assert html_text(decode_html(cyrillic).css_first("p")) == "Привет"
    undeclared = "<p>Привет</p>".encode("cp1251")
    assert html_text(decode_html(undeclared, "windows-1251").css_first("p")) == "Привет"


def test_decode_html_survives_nul_bytes_and_junk() -> None:
    tree = decode_html(fixture("hostile_nul_bytes.html"))
    assert "Mediboard" in html_text(tree.body)
    html_text(decode_html(fixture("hostile_random.bin")).body)  # no exception is the point
    assert html_text(decode_html(b"").body) == ""


def test_decode_html_ignores_a_pseudo_codec_charset() -> None:
    tree = decode_html(b"<p>plain</p>", "base64")
    assert html_text(tree.css_first("p")) == "plain"


def test_title_text_unescapes_entities_and_keeps_one_line() -> None:
    assert title_text("Greenwood &amp; Plating\n <b>x</b>") == "Greenwood & Plating x"


def test_raw_text_normalises_line_ends_and_drops_nul() -> None:
    assert raw_text(b"a\r\nb\x00c\r\n", None) == "a\nbc"


@pytest.mark.parametrize("name", ["hostile_cloudflare_challenge.html", "hostile_ddos_guard.html",
                                  "hostile_login_page.html"])
def test_check_challenge_recognises_walls(name: str) -> None:
    with pytest.raises(ParseError, match="^login or challenge page$"):
        check_challenge(page("http://forum.example.onion/", fixture(name)))


@pytest.mark.parametrize("body", [
    b"<html><head><title>Attention Required! | Cloudflare</title></head><body></body></html>",
    b"<html><body><div class='g-recaptcha' data-sitekey='x'></div></body></html>",
    b"<html><body><h1>Please wait</h1><p>Checking your browser before accessing x.onion</p></body></html>",
])
def test_check_challenge_recognises_captchas_and_browser_checks(body: bytes) -> None:
    with pytest.raises(ParseError, match="login or challenge page"):
        check_challenge(page("http://x.onion/", body))


def test_check_challenge_lets_ordinary_pages_pass() -> None:
    check_challenge(page("http://x.onion/", b"<html><title>Databases</title><body><p>nothing</p></body></html>"))
    check_challenge(page("http://x.onion/", b""))
    check_challenge(page("http://x.onion/", fixture("hostile_random.bin")))
    # a forum page whose header has a quick-login box (a password field) is not a login wall
    check_challenge(page("http://x.onion/", fixture("mybb_forumdisplay_page1.html")))


def test_check_challenge_recognises_a_login_wall_without_login_in_the_title() -> None:
    body = (b"<html><title>Leak Board</title><body><p>You must be logged in to view this forum.</p>"
            b"<form><input name=u><input type=password name=p></form></body></html>")
    with pytest.raises(ParseError, match="login or challenge page"):
        check_challenge(page("http://x.onion/", body))


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-11-20T22:15:00+01:00", datetime(2024, 11, 20, 21, 15, tzinfo=UTC)),
    ("2024-11-20T22:15:00Z", datetime(2024, 11, 20, 22, 15, tzinfo=UTC)),
    ("2021-09-09 23:46:53.997398", datetime(2021, 9, 9, 23, 46, 53, 997398, tzinfo=UTC)),
    ("Wed, 20 Nov 2024 22:15:00 +0000", datetime(2024, 11, 20, 22, 15, tzinfo=UTC)),
    ("Wed, 20 Nov 2024 09:15:00 +0100", datetime(2024, 11, 20, 8, 15, tzinfo=UTC)),
    ("11-20-2024, 10:15 PM", datetime(2024, 11, 20, 22, 15, tzinfo=UTC)),
    ("11-20-2024, 12:05 AM", datetime(2024, 11, 20, 0, 5, tzinfo=UTC)),
    ("20/11/2024", datetime(2024, 11, 20, tzinfo=UTC)),
    ("1442911802", datetime(2015, 9, 22, 8, 50, 2, tzinfo=UTC)),
    ("1442911802000", datetime(2015, 9, 22, 8, 50, 2, tzinfo=UTC)),
    ("2024-10-30", datetime(2024, 10, 30, tzinfo=UTC)),
])
def test_parse_date_reads_what_sites_write_as_utc(text: str, expected: datetime) -> None:
    moment = parse_date(text)
    assert moment == expected
    assert moment is not None and moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("text", ["", "   ", "2 hours ago", "Yesterday", "99999999999999", "13-45-2024",
                                  "not a date", "x" * 500, None])
def test_parse_date_gives_none_for_what_it_cannot_read(text: str | None) -> None:
    assert parse_date(text) is None


def test_absolute_url_resolves_and_drops_fragments_and_session_ids() -> None:
    base = "http://bb.example.onion/forum/viewforum.php?f=7"
    assert absolute_url(base, "./viewtopic.php?f=7&t=123&sid=abc#p9") == \
        "http://bb.example.onion/forum/viewtopic.php?f=7&t=123"
    assert absolute_url(base, "/Thread-x") == "http://bb.example.onion/Thread-x"
    assert absolute_url(base, "javascript:alert(1)") is None
    assert absolute_url(base, "") is None
    assert absolute_url(base, None) is None


def test_every_registered_kind_module_has_the_whole_contract() -> None:
    from sources import KINDS, module
    from sources.contract import SourceModule
    from sources.registry import MODULES

    assert {kind: m.__name__ for kind, m in MODULES.items()} == KINDS   # type-checked = used
    for kind in KINDS:
        found = module(kind)
        assert isinstance(found, SourceModule), f"sources.{kind} lacks a member of SourceModule"
        assert kind == found.KIND
