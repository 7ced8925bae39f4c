"""The fetcher's URL check takes two shortcuts (the source's own URL is not parsed again; a URL
without credentials or fragment is not rebuilt without them): each checked URL is the one the
general rule (parse, join, compare the origin, copy without credentials and fragment) gives."""

from __future__ import annotations

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import NetworkConfig, SourceConfig
from monitor.fetch import Fetcher, Network
from monitor.origins import origin_of, parse_url

_SOURCES = ["http://127.0.0.1:8080/forum", "http://forum.example.onion/Forum-x?page=2",
            "https://Bb.Example/a/b#top", "http://user:pw@bb.example/x", "http://bb.example",
            "https://bb.example:443/%7Euser/", "http://xn--mnchen-3ya.de/a", "http://bb.example/a b"]
_LINKS = st.sampled_from(["", "/", "x", "/x?y=1#z", "../up", "//bb.example/x", "http://bb.example/x#f",
                          "http://u:p@bb.example/x", "HTTP://BB.EXAMPLE/Y", "https://bb.example/x",
                          "http://127.0.0.1:8080/forum", "http://127.0.0.1:8080/forum#p1", "?q", "#frag",
                          "javascript:alert(1)", "http://[::1", "thread-2.html", "http://bb.example:80/x",
                          "http://forum.example.onion/Forum-x?page=2"]) | st.text(max_size=12)


def _general(fetcher: Fetcher, url: str, base: httpx.URL | None) -> str | None:
    parsed = parse_url(url)
    base = base or parse_url(fetcher._url)
    if parsed is None or base is None:
        return None
    if parsed.is_relative_url:
        try:
            parsed = base.join(parsed)
        except (httpx.InvalidURL, ValueError):
            return None
    if origin_of(parsed) != fetcher.origin_tuple:
        return None
    return str(parsed.copy_with(username=None, password=None, fragment=None))


@settings(max_examples=1500, deadline=None)
@given(src=st.sampled_from(_SOURCES), link=_LINKS | st.sampled_from(_SOURCES), with_base=st.booleans())
def test_a_checked_url_is_the_one_the_general_rule_gives(src: str, link: str, with_base: bool) -> None:
    fetcher = Network(NetworkConfig()).fetcher(SourceConfig(name="s", kind="html", url=src))
    base = parse_url("http://bb.example/base/page") if with_base else None
    resolved = fetcher._resolve(link, base)
    assert (None if resolved is None else str(resolved)) == _general(fetcher, link, base), (src, link)
    if resolved is not None:
        assert not resolved.userinfo and not resolved.fragment


def test_the_source_s_own_url_is_not_parsed_again() -> None:
    fetcher = Network(NetworkConfig()).fetcher(SourceConfig(name="s", kind="html", url="http://bb.example/f"))
    assert fetcher._resolve("http://bb.example/f") is fetcher._base
