"""The one redaction of secrets, for everything that may reach a log, an error message or the database.

Two kinds of secrets are removed:

- by shape: Telegram bot tokens (``bot123456:AA...``, or bare) and URL userinfo (``user:pass@``);
- by value: the secrets this process has read from the environment (the bot token, each source's
  Cookie header and each cookie value in it), registered by :func:`remember_secret` where they
  are read, since a cookie has no shape to recognise it by.
"""

from __future__ import annotations

import logging
import re
import threading

__all__ = ["RedactingFilter", "redact", "remember_secret"]

REDACTED = "<redacted>"

_BOT_TOKEN = re.compile(r"(?i)\bbot\d{3,}:[A-Za-z0-9_-]{10,}")
_BARE_TOKEN = re.compile(r"\b\d{6,}:[A-Za-z0-9_-]{30,}")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@]+@")
#: Shorter values are not removed by value: "1" or "yes" would blank out ordinary words.
_MIN_SECRET = 6

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()          # longest first, so a value inside another goes after it


def remember_secret(value: str | None) -> None:
    """Register a secret read from the environment: :func:`redact` removes it from then on.

    A Cookie header is registered whole and cookie by cookie (``a=1; sid=xyz`` -> ``sid=xyz``
    and ``xyz``), since an error may quote one cookie only.
    """
    global _secrets
    if not value:
        return
    candidates = {value, value.strip()}
    for part in value.split(";"):
        part = part.strip()
        candidates.add(part)
        cookie = part.partition("=")[2].strip()
        candidates.add(cookie)
        candidates.update(cookie.split())      # an error may quote the value escaped, cut at a space
    fresh = {c for c in candidates if len(c) >= _MIN_SECRET} - set(_secrets)
    if fresh:
        with _lock:
            _secrets = tuple(sorted(set(_secrets) | fresh, key=len, reverse=True))


def redact(text: str) -> str:
    """Remove bot tokens, URL userinfo (``user:pass@``) and registered secrets from ``text``.

    Use it on anything that may hold a URL, a header or an exception's words before it reaches a
    log, an error message or the database.
    """
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _BOT_TOKEN.sub("bot" + REDACTED, text)
    text = _BARE_TOKEN.sub(REDACTED, text)
    return _USERINFO.sub(r"\1" + REDACTED + "@", text)


class RedactingFilter(logging.Filter):
    """Strip bot tokens, cookies and URL credentials from every record, whatever logged it:
    the message, and the traceback and stack too (an exception's words may quote a URL)."""

    _plain = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Formatters use exc_text once it is set: the traceback is rendered here, redacted.
            record.exc_text = redact(self._plain.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
