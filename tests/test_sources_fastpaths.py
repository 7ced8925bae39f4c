"""The listing parser's fast paths give what the general ones give: the visible text of a node
(lexbor's own walk instead of a Python stack), plain links joined without urljoin, and dates
read once per distinct text."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from sources import common, dates, visibletext
from sources.common import absolute_url, decode_html, html_text
from sources.links import join_plain
from tests.support.htmltext import html_text_reference

FIXTURES = Path(__file__).parent / "fixtures"

# ---------------------------------------------------------------- visible text


def _every_node(tree: LexborHTMLParser) -> list:
    root = tree.root
    return [] if root is None else list(root.traverse(include_text=True))


def test_every_node_of_every_fixture_has_the_same_text() -> None:
    checked = 0
    for path in sorted(FIXTURES.rglob("*.htm*")):
        tree = decode_html(path.read_bytes(), None)
        for node in [tree.body, tree.head, *_every_node(tree)]:
            assert html_text(node) == html_text_reference(node), (path.name, node.tag if node else None)
            checked += 1
    assert checked > 1000


_TAGS = ["div", "p", "span", "a", "b", "td", "th", "tr", "table", "br", "pre", "textarea", "script", "style",
         "template", "noscript", "title", "iframe", "object", "li", "ul", "h1", "blockquote", "svg", "math",
         "xmp", "listing", "plaintext", "head", "body", "section", "img", "hr", "select", "option", "font", "x-y"]
_TEXTS = ["a", "b c", " ", "\n", "\t x \n", "&amp;", "&nbsp;", "<", ">", "\x01", "\x02z", "\u200bq", "é", "\r\n",
          "<!-- c -->", "<![CDATA[d]]>", "<!DOCTYPE html>", "</p>", "</div>", "</td>", "\u00a0", "w\x00x"]


@st.composite
def _markup(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 4 if depth < 4 else 0))):
        if draw(st.booleans()):
            parts.append(draw(st.sampled_from(_TEXTS)))
        else:
            tag = draw(st.sampled_from(_TAGS))
            inner = draw(_markup(depth + 1))
            closed = draw(st.integers(0, 3)) > 0
            parts.append(f"<{tag}>{inner}" + (f"</{tag}>" if closed else ""))
    return "".join(parts)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markup=_markup())
def test_any_markup_has_the_same_text_from_every_node(markup: str) -> None:
    tree = LexborHTMLParser(markup)
    for node in [tree.body, tree.head, *_every_node(tree)]:
        assert html_text(node) == html_text_reference(node), (markup, node.tag if node else None)


def test_deep_nesting_still_needs_no_recursion() -> None:
    tree = LexborHTMLParser("<div>" * 20000 + "deep" + "</div>" * 20000)
    assert html_text(tree.body) == html_text_reference(tree.body) == "deep"


# ---------------------------------------------------------------- links

_BASES = st.sampled_from([
    "http://forum.example.onion/Forum-x", "http://forum.example.onion/forum/viewforum.php?f=7",
    "https://bb.example/board/", "https://bb.example/a/b/c", "http://127.0.0.1:8080/board/12",
    "HTTP://Bb.Example/x/y?q=1#frag", "http://bb.example", "http://bb.example/a//b/c", "http://bb.example/a/./b",
    "http://bb.example/a/../b", "http://bb.example/a;p/b", "http://bb.example/%7Ea/b", "ftp://bb.example/a/b",
    "http://[::1]:8080/a/b", "http://bb.example/a/b.c/", "http://user:pw@bb.example/a/b", " http://bb.example/a/b ",
])
_HREF = st.text(alphabet="aZ0-._~/?#=&%;:+ .\t@[]é", max_size=16) | st.sampled_from([
    "Thread-123", "showthread.php?tid=5", "./viewtopic.php?f=7&t=123&sid=abc#p9", "/threads/x.9/", "../x",
    "./", ".", "..", "x/../y", "x/./y", "//other.example/x", "?q=1", "#top", "x?", "x#", "/x//y", ".x", "x/",
    "viewtopic.php?f=1&t=2&PHPSESSID=zz", "a?b=c&sid=", "Thread-é",
])


@settings(max_examples=3000, deadline=None)
@given(base=_BASES, href=_HREF)
def test_a_plain_link_joins_as_urljoin_joins_it(base: str, href: str) -> None:
    plain = join_plain(base, href)
    if plain is not None:
        assert plain == tuple(urlsplit(urljoin(base, href))), (base, href)


def _absolute_url_general(base: str, href: str | None, *, keep_fragment: bool = False) -> str | None:
    """absolute_url() as it was before join_plain (the general path only)."""
    from urllib.parse import parse_qsl, urlencode, urlunsplit

    if not href or not href.strip():
        return None
    try:
        parts = urlsplit(urljoin(base, href.strip()))
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if k.lower() not in common._SESSION_PARAMS]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, parts.fragment if keep_fragment else ""))


@settings(max_examples=3000, deadline=None)
@given(base=_BASES, href=_HREF, keep=st.booleans())
def test_absolute_url_is_what_the_general_path_gives(base: str, href: str, keep: bool) -> None:
    assert absolute_url(base, href, keep_fragment=keep) == _absolute_url_general(base, href, keep_fragment=keep)


def test_the_plain_path_is_taken_for_common_forum_links() -> None:
    assert join_plain("http://f.example/board/12", "Thread-123") == ("http", "f.example", "/board/Thread-123", "", "")
    assert join_plain("http://f.example/forum/viewforum.php?f=7", "./viewtopic.php?f=7&t=1#p9") == \
        ("http", "f.example", "/forum/viewtopic.php", "f=7&t=1", "p9")
    assert join_plain("http://f.example/a/b", "../x") is None
    assert join_plain("http://f.example/a/./b", "x") is None


# ---------------------------------------------------------------- dates


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet="0123456789-/:., APMZTz+ab\t", max_size=30) | st.sampled_from(
    ["11-19-2024, 10:41 PM", "2024-11-20T07:15:00+00:00", "1700000000", "Wed, 20 Nov 2024 22:15:00 +0000"]))
def test_a_date_read_again_is_the_same_as_read_once(text: str) -> None:
    first = dates.parse_date(text)
    assert dates.parse_date(text) == first == dates._read(text)
    assert dates.parse_date(" " * 200 + text) == dates._read(" " * 200 + text)     # long: not cached


class _Node:
    """A stand-in for a lexbor node that counts the steps taken through it."""

    steps = 0

    def __init__(self, mem_id: int, parent: _Node | None) -> None:
        self.mem_id, self._parent, self._next = mem_id, parent, None

    @property
    def next(self) -> _Node | None:
        _Node.steps += 1
        return self._next

    @property
    def parent(self) -> _Node | None:
        _Node.steps += 1
        return self._parent


def test_where_nested_blocks_end_is_found_in_linear_steps() -> None:
    """Hostile pages nest thousands of blocks: finding where each ends must not walk back up
    through all its ancestors every time (20,000 nested <div>s took 50 s that way)."""
    root = _Node(0, None)
    chain = [root]
    for number in range(1, 5001):
        chain.append(_Node(number, chain[-1]))
    known: dict[int, int | None] = {}
    _Node.steps = 0
    for node in chain[1:]:                      # in the walk's order: outermost first
        assert visibletext._after(node, 0, known) is None      # the innermost ends with the walk
    assert _Node.steps <= 3 * len(chain)
