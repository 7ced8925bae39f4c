"""Hostile and honest pages for the parse-deadline tests: a nesting bomb that stalls lexbor, and
listings big enough (>= 8 KB) to be parsed in the parse worker."""

from __future__ import annotations

__all__ = ["BOMB_DEPTH", "channel_page", "mybb_listing", "nesting_bomb"]

#: Nesting this deep takes lexbor ~10 s of CPU to parse (742 KB; 2.3 s at half the depth): the
#: HTML5 "p in button scope" check walks the whole stack of open elements at each <p>. Far past
#: the tests' 1-1.5 s deadlines even on a machine several times faster.
BOMB_DEPTH = 40_000


def nesting_bomb(depth: int = BOMB_DEPTH) -> bytes:
    """A page of ``depth`` nested <div>, each closing around a <p>: quadratic for lexbor."""
    return ("<!DOCTYPE html><html><head><title>Forum</title></head><body>" + "<div>" * depth
            + "<p>y</p></div>" * depth + "</body></html>").encode()


def mybb_listing(rows: int, watched: str, base: str = "") -> bytes:
    """A MyBB forumdisplay page of ``rows`` threads; thread 7 names ``watched``."""
    parts = [
        f'<tr class="inline_row"><td><span class="subject_old" id="tid_{n}"><a href="{base}Thread-{n}">'
        f'{"Dump of " + watched if n == 7 else f"Database number {n} of a clinic"}</a></span><div><span '
        f'class="author"><a href="User-{n}">user{n}</a></span><span class="thread_start_datetime"><span '
        f'title="11-19-2024, 10:41 PM">1 hour ago</span></span></div></td><td>{n % 97}</td></tr>'
        for n in range(rows, 0, -1)]
    return ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>Board</title></head><body><table>'
            + "".join(parts) + "</table></body></html>").encode()


def channel_page(channel: str, messages: int, watched: str) -> bytes:
    """A t.me/s/<channel> preview of ``messages`` posts; post 7 names ``watched``."""
    parts = [
        f'<div class="tgme_widget_message js-widget_message" data-post="{channel}/{n}"><div class='
        f'"tgme_widget_message_text js-message_text">{"New leak: " + watched if n == 7 else f"post {n}"} '
        f'{"lorem ipsum " * 40}</div><a class="tgme_widget_message_date" href="https://t.me/{channel}/{n}">'
        f'<time datetime="2024-11-20T07:15:00+00:00">07:15</time></a></div>' for n in range(1, messages + 1)]
    return ('<!DOCTYPE html><html><body><section class="tgme_channel_history">' + "".join(parts)
            + "</section></body></html>").encode()
