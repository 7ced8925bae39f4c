"""A fake Telegram Bot API server on 127.0.0.1 for tests (python-telegram-bot talks to it via base_url).

    bot = FakeBot(token="123456:TEST-token")          # threaded http.server on a free port
    Bot(token, base_url=f"{bot.api_url}/bot")          # or TelegramSender(token, bot.api_url, chats)
    bot.sent                                           # every accepted sendMessage (SentMessage)
    bot.calls                                          # every request: method, params, time

It answers ``POST /bot<token>/<method>`` (form-encoded or JSON) for getMe, sendMessage, getUpdates,
answerCallbackQuery, editMessageReplyMarkup (and a few harmless setters), and checks message HTML
the way Telegram does (``check_html``): only Telegram's tags, properly nested and closed, ``& < >``
escaped, only ``&lt; &gt; &amp; &quot;`` and numeric entities, visible text within 4096 UTF-16
units. Switches a test can flip:

    bot.fail_5xx(count=3)              # 502 for the next 3 calls (count=None: until bot.clear())
    bot.rate_limit(retry_after=2)      # the next call answers 429 with parameters.retry_after
    bot.delay(1.5, count=1)            # answer the next call late
    bot.chat_not_found(-100123)        # 400 "chat not found" for that chat
    bot.forbidden(-100123)             # 403 "bot was kicked"
    bot.migrate(-123, -100999)         # 400 with migrate_to_chat_id
    bot.refuse_markup(count=1)         # 400 "can't parse entities" for the next HTML message anyway
    bot.down(); bot.up()               # close the listening socket (connection refused), reopen same port
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MAX_UNITS = 4096

# ---------------------------------------------------------------- Telegram's HTML rules


class MarkupError(ValueError):
    """The HTML would be refused by Telegram; the message is Telegram's wording."""


_FORMATTING = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler"}
_ALLOWED = _FORMATTING | {"a", "code", "pre", "blockquote"}
_TAG = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9-]*)"
    r"((?:\s+[A-Za-z][A-Za-z0-9-]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*)\s*>")
_ATTR = re.compile(r"([A-Za-z][A-Za-z0-9-]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'=<>`]+)))?")
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_units(text: str) -> int:
    """Telegram's length unit."""
    return len(text.encode("utf-16-le")) // 2


def _offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_entities(text: str, base: int, whole: str) -> str:
    """Decode the allowed entities in ``text``; a bare ``&``, ``<`` or ``>`` is refused."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "&":
            m = _ENTITY.match(text, i)
            if not m:
                raise MarkupError("Can't parse entities: unsupported HTML entity or bare \"&\" "
                                  f"at byte offset {_offset(whole, base + i)}")
            if m.group(1):
                out.append(_NAMED[m.group(1)])
            else:
                code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
                if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    raise MarkupError("Can't parse entities: invalid character entity "
                                      f"at byte offset {_offset(whole, base + i)}")
                out.append(chr(code))
            i = m.end()
        elif ch in "<>":
            raise MarkupError(f"Can't parse entities: unexpected \"{ch}\" "
                              f"at byte offset {_offset(whole, base + i)}")
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _check_attrs(name: str, attrs: str, whole: str, at: int) -> None:
    found: dict[str, str | None] = {}
    for m in _ATTR.finditer(attrs):
        raw = next((g for g in m.groups()[1:] if g is not None), None)
        found[m.group(1).lower()] = None if raw is None else _decode_entities(raw, at, whole)
    where = f"at byte offset {_offset(whole, at)}"
    if name == "a":
        href = found.pop("href", None)
        if not href or not re.match(r"^(https?|tg)://\S+$", href.strip(), re.IGNORECASE):
            raise MarkupError(f"Can't parse entities: a link needs an http(s) or tg href {where}")
    elif name == "span":
        if found.pop("class", None) != "tg-spoiler":
            raise MarkupError(f"Can't parse entities: unsupported start tag \"span\" {where}")
    elif name == "code":
        cls = found.pop("class", None)
        if cls is not None and not cls.startswith("language-"):
            raise MarkupError(f"Can't parse entities: unsupported code class {where}")
    elif name == "blockquote":
        found.pop("expandable", None)
    if found:
        raise MarkupError(f"Can't parse entities: unsupported attribute \"{next(iter(found))}\" {where}")


def check_html(text: str) -> str:
    """Parse ``text`` as Telegram parses HTML; return the visible text or raise MarkupError.

    Also refuses an empty message and one over 4096 UTF-16 units, with Telegram's words.
    """
    stack: list[str] = []
    out: list[str] = []
    i = 0
    while i < len(text):
        lt = text.find("<", i)
        chunk_end = len(text) if lt < 0 else lt
        out.append(_decode_entities(text[i:chunk_end], i, text))
        if lt < 0:
            break
        m = _TAG.match(text, lt)
        if not m:
            raise MarkupError(f"Can't parse entities: unclosed or malformed tag at byte offset {_offset(text, lt)}")
        closing, name, attrs = m.group(1) == "/", m.group(2).lower(), m.group(3)
        if name not in _ALLOWED:
            kind = "end" if closing else "start"
            raise MarkupError(f"Can't parse entities: unsupported {kind} tag \"{name}\" "
                              f"at byte offset {_offset(text, lt)}")
        if closing:
            if attrs.strip():
                raise MarkupError(f"Can't parse entities: end tag with attributes at byte offset {_offset(text, lt)}")
            if not stack:
                raise MarkupError(f"Can't parse entities: unexpected end tag at byte offset {_offset(text, lt)}")
            if stack[-1] != name:
                raise MarkupError(f"Can't parse entities: unmatched end tag at byte offset "
                                  f"{_offset(text, lt)}, expected \"</{stack[-1]}>\", found \"</{name}>\"")
            stack.pop()
        else:
            _check_attrs(name, attrs, text, lt)
            inside = set(stack)
            if inside & {"code", "pre"} and not (name == "code" and stack[-1] == "pre"):
                raise MarkupError(f"Can't parse entities: \"{name}\" inside a code or pre entity "
                                  f"at byte offset {_offset(text, lt)}")
            if name == "a" and "a" in inside:
                raise MarkupError(f"Can't parse entities: nested links at byte offset {_offset(text, lt)}")
            if name == "blockquote" and "blockquote" in inside:
                raise MarkupError(f"Can't parse entities: nested blockquote at byte offset {_offset(text, lt)}")
            stack.append(name)
        i = m.end()
    if stack:
        raise MarkupError(f"Can't parse entities: can't find end tag corresponding to start tag \"{stack[-1]}\"")
    visible = "".join(out).strip()
    if not visible:
        raise MarkupError("message text is empty")
    if utf16_units(visible) > MAX_UNITS:
        raise MarkupError("message is too long")
    return visible


def check_plain(text: str) -> str:
    """A message without parse mode: only the empty and length checks apply."""
    visible = text.strip()
    if not visible:
        raise MarkupError("message text is empty")
    if utf16_units(visible) > MAX_UNITS:
        raise MarkupError("message is too long")
    return visible


# ---------------------------------------------------------------- records


@dataclass
class Call:
    """One request as received: ``t`` is time.monotonic() at arrival."""

    method: str
    params: dict[str, Any]
    t: float
    wall: float
    token_ok: bool


@dataclass
class SentMessage:
    """One accepted sendMessage."""

    message_id: int
    chat_id: int | str
    text: str
    visible: str
    parse_mode: str | None
    preview_disabled: bool
    link_preview_options: dict[str, Any] | None
    reply_to_message_id: int | None
    reply_parameters: dict[str, Any] | None
    reply_markup: Any
    t: float


@dataclass
class _Switches:
    fail_count: int | None = 0          # None = until cleared
    fail_status: int = 502
    rate_limit_count: int = 0
    retry_after: int = 0
    delay_count: int | None = 0
    delay_seconds: float = 0.0
    not_found: set[int | str] = field(default_factory=set)
    forbidden: set[int | str] = field(default_factory=set)
    migrated: dict[int | str, int] = field(default_factory=dict)
    refuse_markup: int = 0


def _chat_key(value: Any) -> int | str:
    text = str(value).strip()
    return int(text) if re.match(r"^-?\d+$", text) else text


def _chat_object(chat: int | str) -> dict[str, Any]:
    if isinstance(chat, str):    # "@channel": a public channel; give it a stable numeric id
        number = -1000000000000 - (sum(ord(c) * 31 ** i for i, c in enumerate(chat)) % 10**9)
        return {"id": number, "type": "channel", "username": chat.lstrip("@"), "title": chat}
    if chat > 0:
        return {"id": chat, "type": "private", "first_name": "analyst"}
    if str(chat).startswith("-100"):
        return {"id": chat, "type": "supergroup", "title": "soc"}
    return {"id": chat, "type": "group", "title": "soc"}


class _Server(ThreadingHTTPServer):
    """Tracks open connections so ``down()`` can drop kept-alive ones too."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.conn_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.conn_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self.conn_lock:
            conns = list(self.connections)
            self.connections.clear()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


# ---------------------------------------------------------------- the server


class FakeBot:
    """The fake Bot API. ``api_url`` is what leakmon's ``[telegram] api_url`` would hold."""

    def __init__(self, token: str = "123456:TEST-secret_token-abcdef", port: int = 0) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.sent: list[SentMessage] = []
        self.updates: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._switches = _Switches()
        self._next_message_id = 1000
        self._next_update_id = 1
        self.server: _Server | None = None
        self.thread: threading.Thread | None = None
        self.port = port
        self.up()

    # -------------------------------------------------------- lifecycle

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        """Listen (again) on the same port."""
        bot = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True     # headers and body go in two writes: no 40 ms stall

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                bot._serve(self)

            def do_GET(self) -> None:
                bot._serve(self)

        self.server = _Server(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def down(self) -> None:
        """Close the listening socket and open connections: the next request is refused."""
        if self.server is None:
            return
        self.server.shutdown()
        self.server.server_close()
        self.server.drop_connections()
        self.server = None

    def close(self) -> None:
        self.down()

    # -------------------------------------------------------- switches

    def fail_5xx(self, count: int | None = 1, status: int = 502) -> None:
        """Answer ``status`` (a gateway error page) to the next ``count`` calls (None: until clear())."""
        with self._lock:
            self._switches.fail_count = count
            self._switches.fail_status = status

    def rate_limit(self, retry_after: int, count: int = 1) -> None:
        """Answer 429 with ``parameters.retry_after`` to the next ``count`` calls."""
        with self._lock:
            self._switches.rate_limit_count = count
            self._switches.retry_after = retry_after

    def delay(self, seconds: float, count: int | None = 1) -> None:
        """Answer the next ``count`` calls ``seconds`` late (None: until clear())."""
        with self._lock:
            self._switches.delay_seconds = seconds
            self._switches.delay_count = count

    def chat_not_found(self, chat_id: int | str) -> None:
        with self._lock:
            self._switches.not_found.add(_chat_key(chat_id))

    def forbidden(self, chat_id: int | str) -> None:
        with self._lock:
            self._switches.forbidden.add(_chat_key(chat_id))

    def migrate(self, chat_id: int | str, new_chat_id: int) -> None:
        with self._lock:
            self._switches.migrated[_chat_key(chat_id)] = new_chat_id

    def refuse_markup(self, count: int = 1) -> None:
        """Refuse the next ``count`` HTML messages as unparsable (Telegram's parser may differ from ours)."""
        with self._lock:
            self._switches.refuse_markup = count

    def clear(self) -> None:
        """Every switch off."""
        with self._lock:
            self._switches = _Switches()

    def queue_update(self, update: dict[str, Any]) -> int:
        """Queue an Update (without update_id) for getUpdates; returns its update_id."""
        with self._lock:
            update_id = self._next_update_id
            self._next_update_id += 1
            self.updates.append({"update_id": update_id, **update})
            return update_id

    # -------------------------------------------------------- views

    def methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    def call_times(self, method: str | None = None) -> list[float]:
        with self._lock:
            return [c.t for c in self.calls if method is None or c.method == method]

    def texts(self, chat_id: int | str | None = None) -> list[str]:
        with self._lock:
            return [m.text for m in self.sent if chat_id is None or m.chat_id == _chat_key(chat_id)]

    # -------------------------------------------------------- serving

    def _params(self, h: BaseHTTPRequestHandler, body: bytes) -> dict[str, Any]:
        params: dict[str, Any] = dict(parse_qsl(urlsplit(h.path).query, keep_blank_values=True))
        ctype = (h.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/json" and body:
            loaded = json.loads(body.decode("utf-8"))
            if isinstance(loaded, dict):
                params.update(loaded)
        elif body:
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        for key, value in list(params.items()):
            if isinstance(value, str) and value[:1] in "{[":
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    pass
        return params

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        arrived = time.monotonic()
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        m = re.match(r"^/bot([^/]+)/([A-Za-z]+)$", urlsplit(h.path).path)
        token_ok = bool(m and m.group(1) == self.token)
        method = m.group(2) if m else ""
        try:
            params = self._params(h, body)
        except (ValueError, UnicodeDecodeError):
            params = {}
        with self._lock:
            self.calls.append(Call(method, params, arrived, time.time(), token_ok))
            sw = self._switches
            delay = 0.0
            if sw.delay_count is None or sw.delay_count > 0:
                delay = sw.delay_seconds
                if sw.delay_count is not None:
                    sw.delay_count -= 1
        if delay:
            time.sleep(delay)
        status, reply = self._answer(method, params, token_ok, arrived)
        try:
            if isinstance(reply, bytes):
                data, ctype = reply, "text/html"
            else:
                data, ctype = json.dumps(reply).encode("utf-8"), "application/json"
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except OSError:
            pass     # the client gave up (timed out): Telegram would have sent the message anyway

    def _answer(self, method: str, params: dict[str, Any], token_ok: bool,
                arrived: float) -> tuple[int, dict[str, Any] | bytes]:
        if not token_ok:
            return 401 if method else 404, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        with self._lock:
            sw = self._switches
            if sw.fail_count is None or sw.fail_count > 0:
                if sw.fail_count is not None:
                    sw.fail_count -= 1
                return sw.fail_status, b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            if sw.rate_limit_count > 0:
                sw.rate_limit_count -= 1
                return 429, {"ok": False, "error_code": 429,
                             "description": f"Too Many Requests: retry after {sw.retry_after}",
                             "parameters": {"retry_after": sw.retry_after}}
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        return handler(params, arrived)

    @staticmethod
    def _bad(description: str, code: int = 400, **parameters: Any) -> tuple[int, dict[str, Any]]:
        reply: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            reply["parameters"] = parameters
        return code, reply

    def _m_getMe(self, params: dict[str, Any], arrived: float) -> tuple[int, dict[str, Any]]:
        bot_id = int(self.token.split(":")[0]) if self.token.split(":")[0].isdigit() else 1
        return 200, {"ok": True, "result": {"id": bot_id, "is_bot": True, "first_name": "leakmon test",
                                            "username": "leakmon_test_bot"}}

    def _m_sendMessage(self, params: dict[str, Any], arrived: float) -> tuple[int, dict[str, Any]]:
        if "chat_id" not in params or "text" not in params:
            return self._bad("Bad Request: chat_id and text are required")
        chat = _chat_key(params["chat_id"])
        with self._lock:
            sw = self._switches
            if chat in sw.not_found:
                return self._bad("Bad Request: chat not found")
            if chat in sw.forbidden:
                return self._bad("Forbidden: bot was kicked from the supergroup chat", 403)
            if chat in sw.migrated:
                return self._bad("Bad Request: group chat was upgraded to a supergroup chat",
                                 migrate_to_chat_id=sw.migrated[chat])
        text = str(params["text"])
        parse_mode = params.get("parse_mode")
        try:
            if parse_mode in (None, ""):
                visible = check_plain(text)
            elif str(parse_mode).upper() == "HTML":
                with self._lock:
                    if self._switches.refuse_markup > 0:
                        self._switches.refuse_markup -= 1
                        raise MarkupError("Can't parse entities: unsupported start tag (switch) at byte offset 0")
                visible = check_html(text)
            else:
                return self._bad(f"Bad Request: unsupported parse_mode {parse_mode!r} in this fake")
        except MarkupError as exc:
            return self._bad(f"Bad Request: {exc}")
        lpo = params.get("link_preview_options")
        lpo = lpo if isinstance(lpo, dict) else None
        disabled = bool(lpo and lpo.get("is_disabled") is True) or \
            str(params.get("disable_web_page_preview", "")).lower() == "true"
        reply_to = params.get("reply_to_message_id")
        reply_parameters = params.get("reply_parameters") if isinstance(params.get("reply_parameters"), dict) else None
        with self._lock:
            self._next_message_id += 1
            message_id = self._next_message_id
            self.sent.append(SentMessage(
                message_id=message_id, chat_id=chat, text=text, visible=visible,
                parse_mode=parse_mode or None, preview_disabled=disabled, link_preview_options=lpo,
                reply_to_message_id=int(reply_to) if reply_to not in (None, "") else None,
                reply_parameters=reply_parameters, reply_markup=params.get("reply_markup"), t=arrived))
        return 200, {"ok": True, "result": {"message_id": message_id, "date": int(time.time()),
                                            "chat": _chat_object(chat), "text": visible}}

    def _m_getUpdates(self, params: dict[str, Any], arrived: float) -> tuple[int, dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        with self._lock:
            if offset:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            result = list(self.updates)
        return 200, {"ok": True, "result": result}

    def _ok_true(self, params: dict[str, Any], arrived: float) -> tuple[int, dict[str, Any]]:
        return 200, {"ok": True, "result": True}

    _m_answerCallbackQuery = _ok_true
    _m_editMessageReplyMarkup = _ok_true
    _m_deleteWebhook = _ok_true
    _m_setMyCommands = _ok_true
    _m_close = _ok_true
    _m_logOut = _ok_true
