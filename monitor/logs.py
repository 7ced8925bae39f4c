"""Logging set-up: one line per event, text or JSON, secrets redacted."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from monitor.redaction import RedactingFilter


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
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
    handler.addFilter(RedactingFilter())
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
