"""The responder's loop in Telegram: bot commands and the triage buttons of alert messages.

Two layers, kept apart so the rules are testable without Telegram:

- :class:`Responder` holds the rules. ``command(chat, text)`` answers ``/status``, ``/recent [n]``,
  ``/search <words>``, ``/mute <watch> <duration>``, ``/unmute <watch>`` and ``/help`` with HTML
  (escaped, within 4096, our own markup only); ``callback(chat, data)`` acts on a button press
  (``mute:<hit id>`` mutes that hit's watch entry in that chat for 24 h, ``fp:<outbox row id>``
  records the message's hits as false positives and suggests an ``exclude`` phrase). ``chat`` is
  a chat NAME of ``[telegram.chats]``; every store call goes through the AsyncStore.
- :class:`~monitor.alerts.poller.CommandPoller` runs python-telegram-bot's ``Application``
  (getUpdates polling) inside the ``run`` process, maps each update's chat to its configured name
  and ignores every other chat without a reply; answers go out with link previews off.

Callback data never carries a name: ``mute:<hit id>`` and ``fp:<row id>`` fit Telegram's 64 bytes
whatever the watch entry is called, and a button only acts on hits that were sent to its own chat.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.alerts.buttons import MUTE_HOURS, Button, alert_buttons
from monitor.alerts.htmltext import format_when, join_lines, linked_title, safe
from monitor.alerts.render import severity_mark
from monitor.config import Config, WatchEntry, parse_duration
from monitor.normalize import match_form
from monitor.privacy import mask_text
from monitor.records import HitView
from monitor.timetext import ago, span

log = logging.getLogger("leakmon.commands")

DEFAULT_RECENT = 5
MAX_RECENT = 20
SEARCH_LIMIT = 10
MIN_MUTE = 60.0                      # seconds
MAX_MUTE = 90 * 86400.0
CALLBACK_ANSWER_MAX = 200            # answerCallbackQuery's text limit (characters)
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?:\s+(.*))?$", re.DOTALL)
_WORD_EDGE = ".,;:!?()[]{}\"'«»“”‘’`*"

HELP = (
    "<b>leakmon commands</b>\n"
    "/status: health of every source, and the outbox\n"
    f"/recent [n]: the latest hits for this chat (default {DEFAULT_RECENT}, at most {MAX_RECENT})\n"
    "/search &lt;words&gt;: stored posts that contain the words (those of this chat's watch entries)\n"
    "/mute &lt;watch&gt; &lt;duration&gt;: hold that entry's alerts in this chat (e.g. /mute Mediboard 24h); "
    "they are stored and sent when the mute ends\n"
    "/unmute &lt;watch&gt;: end a mute now\n"
    "/help: this list\n"
    f"Buttons under an alert: 🔕 Mute {MUTE_HOURS}h (that entry, this chat), 🚫 False positive (recorded on the hit)."
)


@dataclass(frozen=True)
class CallbackAnswer:
    """What to do after a button press: answerCallbackQuery's ``text`` (plain, at most 200
    characters; shown as an alert box when ``alert``) and, when not None, a new keyboard."""

    text: str
    alert: bool = False
    buttons: list[list[Button]] | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _clip_plain(text: str, limit: int = CALLBACK_ANSWER_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def suggest_exclude(hit: HitView) -> str:
    """An ``exclude`` phrase that would have stopped this hit: the matched words and up to two words
    after them in the same sentence (or up to two before, when the match ends the sentence).

    E.g. "A Mediboard tutorial for beginners." -> "Mediboard tutorial for".
    """
    source = (hit.item.text or "") if hit.field == "text" else (hit.item.title or "")
    start, end = hit.start, hit.end
    if not 0 <= start < end <= len(source):
        found = re.search(re.escape(hit.terms[0]), source, re.IGNORECASE) if hit.terms and hit.terms[0] else None
        if found is None:
            return hit.terms[0] if hit.terms else hit.watch
        start, end = found.span()
    left = max(source.rfind(mark, 0, start) for mark in ".!?\n") + 1
    ends = [i for i in (source.find(mark, end) for mark in ".!?\n") if i >= 0]
    right = min(ends) if ends else len(source)

    def words(text: str) -> list[str]:
        cleaned = (w.strip(_WORD_EDGE) for w in text.split())
        return [w for w in cleaned if w and any(ch.isalnum() for ch in w)]

    term = " ".join(source[start:end].split())
    after = words(source[end:right])[:2]
    before = [] if after else words(source[left:start])[-2:]
    phrase = " ".join([*before, term, *after])
    return "".join(ch for ch in phrase if ch.isprintable())[:80]


class Responder:
    """The command and button rules (no Telegram here): answers are Telegram HTML.

    ``store`` is an AsyncStore; ``config`` returns the config in force (it may be reloaded).
    """

    def __init__(self, store: Any, config: Callable[[], Config], *,
                 clock: Callable[[], datetime] = _now) -> None:
        self.store = store
        self._config = config
        self._clock = clock

    # ------------------------------------------------------------ chats

    def chat_name(self, chat_id: int | str, username: str | None = None) -> str | None:
        """The ``[telegram.chats]`` name of a Telegram chat (by id, or "@username" for a channel
        configured that way), None for any other chat."""
        wanted_user = f"@{username}".lower() if username else None
        for name, value in self._config().telegram.chats.items():
            if isinstance(value, int) and str(value) == str(chat_id):
                return name
            if isinstance(value, str) and (value == str(chat_id) or (wanted_user and value.lower() == wanted_user)):
                return name
        return None

    def _watch(self, text: str) -> WatchEntry | None:
        """A configured watch entry by name: exact, then case-insensitive, then folded."""
        watches = self._config().watches
        text = text.strip()
        for test in (lambda w: w.name == text, lambda w: w.name.lower() == text.lower(),
                     lambda w: match_form(w.name) == match_form(text)):
            found = [w for w in watches if test(w)]
            if len(found) == 1:
                return found[0]
        return None

    def _mask(self) -> bool:
        """[privacy] mask of the config in force (masking is on unless the config turns it off)."""
        privacy = getattr(self._config(), "privacy", None)
        return bool(getattr(privacy, "mask", True))

    def _routed_here(self, chat: str) -> list[str]:
        return [w.name for w in self._config().watches if chat in w.chats]

    def visible_watches(self, chat: str) -> list[str] | None:
        """The watch entries whose posts ``chat`` may see in answers: None for every post (the chat
        receives every entry), else the entries routed to it (an entry's ``chats``, else
        ``default_chats``); [] for a chat that receives no entry (e.g. only health messages)."""
        config = self._config()
        routed = self._routed_here(chat)
        if len(routed) == len(config.watches) and (routed or chat in config.telegram.default_chats):
            return None
        return routed

    # ------------------------------------------------------------ commands

    async def command(self, chat: str, text: str, bot_username: str | None = None) -> str | None:
        """The HTML answer to a command message in chat ``chat``, or None when it is not for us
        (not a command, another bot's command, an unknown command not addressed to us)."""
        m = _COMMAND.match(text.strip())
        if m is None:
            return None
        name, addressed, args = m.group(1).lower(), m.group(2), (m.group(3) or "").strip()
        if addressed and bot_username and addressed.lower() != bot_username.lower():
            return None
        handler = {"status": self._status, "recent": self._recent, "search": self._search,
                   "mute": self._mute, "unmute": self._unmute, "help": self._help,
                   "start": self._help}.get(name)
        if handler is None:
            return f"Unknown command /{safe(name, 40)}. /help lists the commands." if addressed else None
        return await handler(chat, args)

    async def _help(self, chat: str, args: str) -> str:
        return HELP

    async def _status(self, chat: str, args: str) -> str:
        config = self._config()
        now = self._clock()
        names = [s.name for s in config.sources]
        states = {s.name: s for s in await self.store.all_status(names)}
        lines = ["📊 <b>leakmon status</b>"]
        for name in names:
            s = states[name]
            if s.last_poll is None:
                lines.append(f"⏳ <code>{safe(name, 80)}</code> · not polled yet")
            elif s.consecutive_failures:
                lines.append(f"⚠️ <code>{safe(name, 80)}</code> · {s.consecutive_failures} failed polls · "
                             f"{safe(s.last_error or 'unknown error', 200)} · last ok {ago(s.last_ok, now)}")
            else:
                lines.append(f"✅ <code>{safe(name, 80)}</code> · ok {ago(s.last_ok, now)} · "
                             f"{s.items_seen} items")
        # Source health names sources, never posts: every chat sees it. The outbox counts are this
        # chat's own unless it receives every entry (a vendor chat learns nothing of the others).
        every = self.visible_watches(chat) is None
        stats = await self.store.outbox_stats(now) if every else await self.store.outbox_stats(now, chat)
        age = f", oldest {stats.oldest_pending_age_s:.0f}s" if stats.oldest_pending_age_s is not None else ""
        scope = "" if every else " (this chat)"
        lines.append(f"📤 outbox{scope}: {stats.pending} pending{age} · {stats.parked} parked · "
                     f"{getattr(stats, 'muted', 0)} held by mutes")
        for mute in await self.store.mutes(chat):
            lines.append(f"🔕 muted here: <b>{safe(mute.watch, 80)}</b> until {format_when(mute.until)}")
        return join_lines(lines)

    async def _recent(self, chat: str, args: str) -> str:
        count = DEFAULT_RECENT
        if args:
            if not args.isdigit() or int(args) < 1:
                return f"Usage: /recent [n] (n from 1 to {MAX_RECENT})"
            count = min(int(args), MAX_RECENT)
        visible = self.visible_watches(chat)
        hits = await self.store.hits(limit=count, watches=visible) if visible != [] else []
        if not hits:
            return "No hits for this chat yet."
        blocks = [f"🕑 <b>latest hits for this chat</b> ({len(hits)})"]
        for h in hits:
            marks = [f"#{h.id}", format_when(h.first_seen)]
            if h.repost_of is not None:
                marks.append(f"🔁 repost of #{h.repost_of}")
            if h.retro:
                marks.append("🕵 retro-hunt")
            if h.false_positive:
                marks.append("🚫 false positive")
            blocks.append(f"{severity_mark(h.severity)} <b>{safe(h.watch, 60)}</b> · "
                          f"{linked_title(h.item.title, h.item.url, 150, mask=self._mask(), terms=h.terms)}\n"
                          f"    📡 {safe(h.item.source, 60)} · {' · '.join(marks)}")
        return join_lines(blocks)

    async def _search(self, chat: str, args: str) -> str:
        if not args:
            return "Usage: /search &lt;words&gt; (e.g. /search mediboard patients)"
        visible = self.visible_watches(chat)
        # a chat sees only posts that hit an entry routed to it: a vendor chat never learns, by
        # searching, of a post meant for another chat
        found = await self.store.search(args[:200], limit=SEARCH_LIMIT, watches=visible) if visible != [] else []
        if not found:
            scope = "" if visible is None else " for this chat"
            return f"No stored post{scope} matches {safe(args, 100)}."
        blocks = [f"🔎 <b>{len(found)} stored posts</b> for {safe(args, 100)}"]
        for item, first_seen in found:
            blocks.append(f"📰 {linked_title(item.title, item.url, 150, mask=self._mask(), terms=args.split())}\n"
                          f"    📡 {safe(item.source, 60)} · {format_when(first_seen)}")
        return join_lines(blocks)

    async def _mute(self, chat: str, args: str) -> str:
        usage = "Usage: /mute &lt;watch&gt; &lt;duration&gt; (e.g. /mute Mediboard 24h; 30m, 2h, 7d)"
        parts = args.rsplit(None, 1)
        if len(parts) != 2:
            return usage
        try:
            seconds = parse_duration(parts[1])
        except ValueError:
            return usage
        if not MIN_MUTE <= seconds <= MAX_MUTE:
            return f"A mute lasts from {span(MIN_MUTE)} to {span(MAX_MUTE)}."
        watch = self._watch(parts[0])
        if watch is None:
            return self._unknown_watch(parts[0])
        mute, caught = await self.store.mute(chat, watch.name, seconds)
        held = f" {caught} pending alerts held too." if caught else ""
        return (f"🔕 <b>{safe(watch.name, 80)}</b> muted in this chat until {format_when(mute.until)}."
                f"{held} Its alerts are stored and sent here when the mute ends; "
                f"/unmute {safe(watch.name, 80)} ends it now.")

    async def _unmute(self, chat: str, args: str) -> str:
        if not args:
            return "Usage: /unmute &lt;watch&gt;"
        watch = self._watch(args)
        name = watch.name if watch else args.strip()
        released = await self.store.unmute(chat, name)
        if released is None:
            return f"<b>{safe(name, 80)}</b> is not muted in this chat."
        follow = f": {released} held alerts follow." if released else "; no alert was held."
        return f"🔔 <b>{safe(name, 80)}</b> unmuted{follow}"

    def _unknown_watch(self, text: str) -> str:
        names = ", ".join(safe(w.name, 40) for w in self._config().watches[:30])
        return f"No watch entry named {safe(text, 80)}. Entries: {names or '(none)'}"

    # ------------------------------------------------------------ buttons

    async def callback(self, chat: str, data: str) -> CallbackAnswer | None:
        """Act on a button press in chat ``chat``; None for data that is not ours."""
        kind, _, value = data.partition(":")
        if not value.isdigit():
            return None
        if kind == "mute":
            return await self._mute_button(chat, int(value))
        if kind == "fp":
            return await self._false_positive(chat, int(value))
        return None

    async def _mute_button(self, chat: str, hit_id: int) -> CallbackAnswer:
        hit = await self.store.alerted_hit(hit_id, chat)
        if hit is None:
            return CallbackAnswer("This alert was not sent to this chat (or is gone).", alert=True)
        mute, _ = await self.store.mute(chat, hit.watch, MUTE_HOURS * 3600.0)
        return CallbackAnswer(_clip_plain(f"🔕 {hit.watch} muted here for {MUTE_HOURS}h (until "
                                          f"{format_when(mute.until)}). /unmute {hit.watch} ends it now."))

    async def _false_positive(self, chat: str, row_id: int) -> CallbackAnswer:
        hits: Sequence[HitView] = await self.store.mark_false_positive(row_id, chat)
        if not hits:
            return CallbackAnswer("This alert was not sent to this chat (or is gone).", alert=True)
        refs = ", ".join(f"#{h.id}" for h in hits)
        tips = []
        for h in hits:
            phrase = mask_text(suggest_exclude(h), h.terms) if self._mask() else suggest_exclude(h)
            tips.append(f"{h.watch}: exclude = [{json.dumps(phrase, ensure_ascii=False)}]")
        text = f"🚫 Recorded as a false positive ({refs}). To stop such alerts add to the entry " + "; ".join(tips)
        buttons = alert_buttons(row_id, hits)
        buttons[-1] = [("✅ False positive recorded", f"fp:{row_id}")]
        return CallbackAnswer(_clip_plain(text), alert=True, buttons=buttons)
