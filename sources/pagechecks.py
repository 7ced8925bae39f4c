"""Is a page what its source expects? Challenge and login pages, and HTML where JSON was expected.

Everything here takes attacker-written input: it raises ParseError with a reason in words, nothing else.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from monitor.errors import ParseError
from sources.common import cut, decode_html, html_text, one_line

if TYPE_CHECKING:
    from monitor.fetch import Page

CHALLENGE_REASON = "login or challenge page"


_CHALLENGE_TITLES = (
    "just a moment", "attention required! | cloudflare", "checking your browser", "ddos-guard",
    "ddos protection", "security check", "captcha", "are you human", "verify you are human",
    "one more step", "please wait", "access denied",
)
_CHALLENGE_SELECTORS = (
    "#challenge-form", "#challenge-running", "#cf-challenge-running", "#cf-wrapper .cf-browser-verification",
    ".cf-browser-verification", "#challenge-stage", "div.cf-turnstile", ".g-recaptcha", ".h-captcha",
    "iframe[src*='captcha']", "iframe[src*='challenges.cloudflare.com']", "script[src*='/cdn-cgi/challenge-platform/']",
    "#ddg-captcha", "#ddg-l10n-title", "input[name*='captcha' i]", "img[src*='captcha' i]",
)
_LOGIN_TITLE = re.compile(r"\b(?:log ?in|login|sign ?in|connexion|member login|authenticat)", re.I)
_LOGIN_PAGE_MAX_LINKS = 25
_CHALLENGE_TEXT = re.compile(
    r"checking your browser before accessing|enable javascript and cookies to continue|"
    r"ddos protection by|ddos-guard|verifying you are human|complete the security check|"
    r"you must (?:be registered|be logged in|log ?in)|please (?:log ?in|login|sign in) to (?:view|access|see)",
    re.I,
)


def check_challenge(page: Page, tree: LexborHTMLParser | None = None) -> None:
    """Raise ``ParseError("login or challenge page")`` when a page is a challenge or a login wall.

    Detects Cloudflare ("Just a moment...", challenge forms and scripts), DDoS-Guard,
    "Checking your browser", captcha pages and login pages (a form with a password input).
    Call it when a listing yielded nothing: a forum listing itself often carries a login box
    in its header, so a password field alone proves nothing on a page that has items.
    """
    if tree is None:
        tree = decode_html(page.body, page.charset)
    title_node = tree.css_first("title")
    title = one_line(title_node.text()).lower() if title_node is not None else ""
    if title and any(marker in title for marker in _CHALLENGE_TITLES):
        raise ParseError(CHALLENGE_REASON)
    for selector in _CHALLENGE_SELECTORS:
        try:
            if tree.css_first(selector) is not None:
                raise ParseError(CHALLENGE_REASON)
        except SelectolaxError:  # a selector this lexbor build does not know: skip it
            continue
    if tree.css_first("input[type='password' i]") is not None and (
            _LOGIN_TITLE.search(title) or len(tree.css("a[href]")) < _LOGIN_PAGE_MAX_LINKS):
        # A password field on a page that is about logging in, or that has little else: a login
        # wall. A full forum page with a quick-login box in its header is not one.
        raise ParseError(CHALLENGE_REASON)
    body_text = html_text(tree.body)[:20000]
    if _CHALLENGE_TEXT.search(body_text):
        raise ParseError(CHALLENGE_REASON)


def looks_like_html(body: bytes) -> bool:
    """True when bytes start like an HTML document (used to explain a non-JSON / non-feed answer)."""
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<title"))


def load_json(page: Page) -> Any:
    """The parsed JSON document of a page. ParseError("invalid JSON: ...") otherwise, or the
    challenge-page ParseError when the server answered an anti-bot page instead."""
    body = page.body
    if not body.strip():
        raise ParseError("invalid JSON: empty document")
    try:
        return json.loads(body)
    except RecursionError as exc:
        raise ParseError("invalid JSON: nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError; so are huge ints
        if looks_like_html(body):
            check_challenge(page)
            raise ParseError("invalid JSON: the server answered with an HTML page") from exc
        raise ParseError(f"invalid JSON: {cut(str(exc), 200)}") from exc
