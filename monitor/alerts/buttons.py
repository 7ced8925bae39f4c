"""The triage keyboard under alert and digest messages: "Mute 24h" per watch entry, "False positive".

Labels are plain text (cleaned and clipped, never escaped); callback data carries ids, never names.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.alerts.htmltext import clean_head, clip
from monitor.records import HitView

Button = tuple[str, str]          # (label, callback data): plain text, data within 64 bytes
MUTE_HOURS = 24
_MAX_MUTE_BUTTONS = 4


def _button_label(text: str, units: int) -> str:
    # Button labels are plain text (no parse mode): cleaned and clipped, never escaped.
    return clip(clean_head(text, units), units)


def _mute_buttons(hits: Sequence[HitView]) -> list[Button]:
    """One "Mute 24h" per watch entry (by one of its hit ids: names never go in callback data)."""
    first_hit: dict[str, int] = {}
    for h in sorted(hits, key=lambda h: h.id):
        first_hit.setdefault(h.watch, h.id)
    if len(first_hit) == 1:
        return [(f"🔕 Mute {MUTE_HOURS}h", f"mute:{next(iter(first_hit.values()))}")]
    return [(f"🔕 Mute {_button_label(watch, 24)} {MUTE_HOURS}h", f"mute:{hid}")
            for watch, hid in list(first_hit.items())[:_MAX_MUTE_BUTTONS]]


def alert_buttons(row_id: int, hits: Sequence[HitView]) -> list[list[Button]]:
    """The triage keyboard of one alert (or repost) message: mute its watch entry here for 24 h,
    and mark its hits a false positive (by outbox row id)."""
    if not hits:
        return []
    return [[button] for button in _mute_buttons(hits)] + [[("🚫 False positive", f"fp:{row_id}")]]


def digest_buttons(items: Sequence[Sequence[HitView]]) -> list[list[Button]]:
    """A digest names several items: only "Mute 24h" per watch entry (false positives are marked
    on single alerts; /mute and `hits` cover the rest)."""
    return [[button] for button in _mute_buttons([h for hits in items for h in hits])]
