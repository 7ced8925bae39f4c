"""The responder's loop in Telegram: bot commands and the triage buttons of alert messages.

Two layers, kept apart so the rules are testable without Telegram:

- :class:`Responder` holds the rules. ``command(chat, text)`` answers ``/status``, ``/recent [n]``,
  ``/search <words>``, ``/mute <watch> <duration>``, ``/unmute <watch>`` and ``/help`` with HTML
  (escaped, within 4096, our own markup only); ``callback(chat, data)`` acts on a button press
  (``mute:<hit id>`` mutes that hit's watch entry in that chat for 24 h, ``fp:<outbox row id>``
  records the message's hits as false positives and suggests an ``exclude`` phrase). ``chat`` is
  a chat NAME of ``[telegram.chats]``; every store call goes through the AsyncStore.
- :class:`CommandPoller` runs python-telegram-bot's ``Application`` (getUpdates polling) inside
  the ``run`` process, maps each update's chat to its configured name and ignores every other chat
  without a reply; answers go out with link previews off.

Callback data never carries a name: ``mute:<hit id>`` and ``fp:<row id>`` fit Telegram's 64 bytes
whatever the watch entry is called, and a button only acts on hits that were sent to its own chat.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from monitor.alerts.buttons import MUTE_HOURS, Button, alert_buttons
from monitor.alerts.htmltext import format_when, join_lines, linked_title, safe
from monitor.alerts.render import severity_mark
from monitor.config import Config, WatchEntry, parse_duration
from monitor.errors import DeliveryError, DeliveryTransient
from monitor.normalize import match_form
from monitor.privacy import mask_text
from monitor.redaction import redact, remember_secret
from monitor.records import HitView
from monitor.timetext import ago, span

log = logging.getLogger("leakmon.commands")

DEFAULT_RECENT = 5
MAX_RECENT = 20
SEARCH_LIMIT = 10
MIN_MUTE = 60.0                      # seconds
MAX_MUTE = 90 * 86400.0
CALLBACK_ANSWER_MAX = 200            # answerCallbackQuery's text limit (characters)
POLL_INTERVAL = 0.5                  # seconds between two getUpdates when one returns at once
POLL_TIMEOUT = 10                    # long-poll seconds Telegram may hold a getUpdates
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
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
    return datetime.now(timezone.utc)


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


class CommandPoller:
    """python-telegram-bot's Application polling getUpdates for the Responder, in this process.

    ``start()`` raises a DeliveryError (token redacted) when Telegram cannot be reached; ``stop()``
    never raises and is bounded in time.
    """

    def __init__(self, token: str, api_url: str, responder: Responder, *,
                 poll_interval: float = POLL_INTERVAL, timeout: int = POLL_TIMEOUT) -> None:
        from telegram.ext import Application, TypeHandler
        from telegram.request import HTTPXRequest
        from telegram import Update

        remember_secret(token)      # every redaction removes it from now on
        self.responder = responder
        self._poll_interval = poll_interval
        self._timeout = timeout

        def request(read_timeout: float) -> HTTPXRequest:
            # the endpoint is [telegram] api_url, never a proxy from the environment
            return HTTPXRequest(connection_pool_size=4, connect_timeout=10.0, read_timeout=read_timeout,
                                write_timeout=10.0, pool_timeout=5.0, httpx_kwargs={"trust_env": False})

        self.app = (Application.builder().token(token).base_url(f"{api_url.rstrip('/')}/bot")
                    .request(request(20.0)).get_updates_request(request(timeout + 10.0))
                    .job_queue(None).build())
        self.app.add_handler(TypeHandler(Update, self._on_update))
        self.app.add_error_handler(self._on_error)

    async def start(self) -> None:
        """getMe, then poll in the background."""
        from telegram.error import TelegramError

        from monitor.alerts.telegram import scrub, translate

        try:
            async with asyncio.timeout(START_TIMEOUT):
                await self.app.initialize()
                await self.app.start()
                assert self.app.updater is not None
                await self.app.updater.start_polling(
                    poll_interval=self._poll_interval, timeout=self._timeout,
                    allowed_updates=["message", "channel_post", "callback_query"],
                    error_callback=self._on_poll_error)
        except TelegramError as exc:
            scrub(exc)
            await self.stop()
            raise translate(exc) from exc
        except (TimeoutError, OSError) as exc:
            await self.stop()
            raise DeliveryTransient(f"bot commands could not start: {type(exc).__name__}") from exc

    async def stop(self) -> None:
        """Stop polling and close the client (the last fetched updates are marked read)."""
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                if self.app.updater is not None and self.app.updater.running:
                    await self.app.updater.stop()
                if self.app.running:
                    await self.app.stop()
                await self.app.shutdown()
        except Exception as exc:  # stopping must never stop the daemon's own shutdown
            log.warning("bot commands: stop: %s", type(exc).__name__)

    # ------------------------------------------------------------ PTB callbacks

    def _on_poll_error(self, exc: Exception) -> None:
        # Called for each failed getUpdates (PTB retries on its own): one short line, no token.
        log.warning("bot commands: getUpdates failed: %s", redact(str(exc)))

    async def _on_error(self, update: object, context: Any) -> None:
        error = getattr(context, "error", None)
        log.error("bot commands: %s: %s", type(error).__name__, redact(str(error)))

    async def _on_update(self, update: Any, context: Any) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        name = self.responder.chat_name(chat.id, chat.username)
        if name is None:
            return                      # not a configured chat: ignored, no reply
        if update.callback_query is not None:
            await self._answer_button(update.callback_query, name)
            return
        message = update.effective_message
        text = getattr(message, "text", None)
        if not text or not text.startswith("/"):
            return
        html = await self.responder.command(name, text, bot_username=context.bot.username)
        if html:
            await self._reply(context.bot, chat.id, message.message_id, html)

    async def _reply(self, bot: Any, chat_id: int, message_id: int, html: str) -> None:
        from telegram import LinkPreviewOptions, ReplyParameters
        from telegram.constants import ParseMode
        from telegram.error import TelegramError

        from monitor.alerts.telegram import scrub, translate

        try:
            await bot.send_message(chat_id=chat_id, text=html, parse_mode=ParseMode.HTML,
                                   link_preview_options=LinkPreviewOptions(is_disabled=True),
                                   reply_parameters=ReplyParameters(message_id=message_id,
                                                                    allow_sending_without_reply=True))
        except TelegramError as exc:
            scrub(exc)
            error: DeliveryError = translate(exc)
            log.warning("bot commands: answer not sent: %s", getattr(error, "reason", error))

    async def _answer_button(self, query: Any, chat: str) -> None:
        from telegram.error import TelegramError

        from monitor.alerts.telegram import keyboard, scrub, translate

        answer = await self.responder.callback(chat, query.data or "")
        try:
            if answer is None:
                await query.answer()
                return
            await query.answer(text=answer.text, show_alert=answer.alert)
            if answer.buttons is not None and query.message is not None:
                await query.edit_message_reply_markup(keyboard(answer.buttons))
        except TelegramError as exc:
            scrub(exc)
            log.warning("bot commands: button answer failed: %s",
                        getattr(translate(exc), "reason", "error"))
