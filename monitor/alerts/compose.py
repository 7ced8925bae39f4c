"""The messages of one chat's due outbox rows: alerts (a digest for a burst), reposts, notices.

Pure but for logging: a row that fails to render is returned with the reason, never dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from monitor.alerts.buttons import Button, alert_buttons, digest_buttons
from monitor.alerts.render import (
    pack_digest,
    render_alert,
    render_health,
    render_repost,
    render_text,
)
from monitor.records import OutboxRow

log = logging.getLogger(__name__)

DIGEST_THRESHOLD = 10        # more than this many due alerts for one chat -> digest messages


@dataclass
class Message:
    """One message to send: its rows (several for a digest), HTML, keyboard and reply target."""

    chat: str
    rows: list[OutboxRow]
    html: str
    position: int             # order of its first row in the pass
    buttons: list[list[Button]] = field(default_factory=list)   # the inline keyboard
    reply_to: int | None = None                                  # message id this one answers


def compose(chat: str, rows: list[tuple[int, OutboxRow]], *, mask: bool = True
            ) -> tuple[list[Message], list[tuple[OutboxRow, str]]]:
    """Messages for one chat's due rows (digests for a burst), and rows that failed to render."""
    messages: list[Message] = []
    broken: list[tuple[OutboxRow, str]] = []
    broken.extend((r, f"{r.kind} row without hits") for _, r in rows
                  if r.kind in ("alert", "repost") and not r.hits)
    alerts = [(p, r) for p, r in rows if r.kind == "alert" and r.hits]
    if len(alerts) > DIGEST_THRESHOLD:
        try:
            packed = pack_digest([r.hits for _, r in alerts], mask=mask)
        except Exception as exc:   # a renderer bug must not stop the other chats
            log.exception("digest for chat %r failed to render", chat)
            broken.extend((r, f"render failed: {exc!r}") for _, r in alerts)
        else:
            for html, indexes in packed:
                covered = [alerts[i] for i in indexes]
                messages.append(Message(chat, [r for _, r in covered], html, covered[0][0],
                                         digest_buttons([r.hits for _, r in covered])))
    else:
        for position, row in alerts:
            try:
                html = render_alert(row.hits, retro=any(h.retro for h in row.hits),
                                    held=bool(row.payload.get("muted_watch")), mask=mask)
            except Exception as exc:
                log.exception("outbox row %s failed to render", row.id)
                broken.append((row, f"render failed: {exc!r}"))
            else:
                messages.append(Message(chat, [row], html, position, alert_buttons(row.id, row.hits)))
    for position, row in rows:
        if row.kind == "alert" or (row.kind == "repost" and not row.hits):
            continue
        try:
            if row.kind == "repost":
                messages.append(Message(chat, [row], render_repost(row.hits, row.payload, mask=mask), position,
                                         alert_buttons(row.id, row.hits), row.reply_to))
                continue
            html = render_health(row.payload) if row.kind == "health" else render_text(row.payload)
        except Exception as exc:
            log.exception("outbox row %s failed to render", row.id)
            broken.append((row, f"render failed: {exc!r}"))
        else:
            messages.append(Message(chat, [row], html, position))
    messages.sort(key=lambda m: m.position)
    return messages, broken
