"""Logging set-up: one line per event, text or JSON, secrets redacted."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from monitor.redaction import redact


class _Redacting(logging.Filter):
    """Strip bot tokens, cookies and URL credentials from every record, whatever logged it:
    the message, and at ``-v`` the traceback and stack too (an exception's words may quote a URL)."""

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


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(verbose: int = 0, quiet: bool = False, fmt: str = "text") -> None:
    """Configure the root logger on stderr. ``--verbose`` twice shows library debug output."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_Redacting())
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                               "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries log request URLs (the bot token is in them) and chatter at INFO: keep them quiet.
    for name in ("httpx", "httpcore", "telegram", "apscheduler", "hpack"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbose > 1 else logging.WARNING)
