"""Alert, digest, health and text messages as Telegram HTML: pure functions, no I/O.

Every piece of scraped text goes through ``monitor.alerts.htmltext.safe`` (cleaned, clipped to its
budget, escaped). Every field has a budget and the budgets add up to well under Telegram's 4096 visible units, so
the limit holds by construction; a final check (``_fit``) rebuilds with smaller budgets anyway,
so a future field that forgets its budget still cannot break it.
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from monitor.alerts.htmltext import (
    ELLIPSIS,
    MAX_MESSAGE,
    clean,
    clean_head,
    clip,
    clip_left,
    format_when,
    safe,
    safe_url,
    utf16_len,
    visible_text,
)
from monitor.privacy import MAX_SCAN, mask_text
from monitor.records import HitView
from monitor.repair import hit_lookalike
from monitor.triage import Triage, assess

SEVERITY_ORDER = ("low", "medium", "high", "critical")
SEVERITY_MARK = {"critical": "🚨", "high": "🔴", "medium": "🟠", "low": "🟡"}

# A match read through Cyrillic or Greek letters in a Latin word ("Axiсorp"): worth an analyst's eye.
LOOKALIKE_NOTE = " · 🔤 matched through lookalike letters"


# ---------------------------------------------------------------- alert pieces

@dataclass(frozen=True)
class _Budget:
    """Per-field budgets in UTF-16 units of visible text (before escaping)."""

    watch: int = 80
    watches: int = 500
    term: int = 80
    terms: int = 400
    source: int = 100
    title: int = 300
    author: int = 80
    snippet: int = 220
    refs: int = 10

    def scaled(self, factor: float) -> _Budget:
        return _Budget(*(max(8, int(v * factor)) if name != "refs" else max(1, int(v * factor))
                         for name, v in self.__dict__.items()))


ALERT_BUDGET = _Budget()
DIGEST_BUDGET = _Budget(watch=60, watches=200, term=60, terms=150, source=60, title=200,
                        author=60, snippet=140, refs=5)


def _severity(hits: Sequence[HitView]) -> str:
    ranked = [h.severity for h in hits if h.severity in SEVERITY_ORDER]
    if not ranked:
        return (hits[0].severity if hits else "") or "medium"
    return max(ranked, key=SEVERITY_ORDER.index)


def _severity_label(severity: str) -> str:
    mark = SEVERITY_MARK.get(severity, "⚪")
    return f"{mark} <b>{safe(severity.upper(), 20)}</b>"


def _joined(values: Sequence[str], each: int, total: int, wrap: Callable[[str], str]) -> str:
    """Distinct values, each clipped and escaped, until ``total`` units; then "+N more"."""
    seen: list[str] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    parts: list[str] = []
    used = 0
    for i, value in enumerate(seen):
        piece = clip(clean_head(value, each), each)
        cost = utf16_len(piece) + 2
        if parts and used + cost > total:
            parts.append(f"+{len(seen) - i} more")
            break
        parts.append(wrap(html.escape(piece, quote=True)))
        used += cost
    return ", ".join(parts)


def _watches(hits: Sequence[HitView], b: _Budget) -> str:
    names = [h.watch for h in hits]
    return _joined(names, b.watch, b.watches, lambda s: f"<b>{s}</b>")


def _terms(hits: Sequence[HitView], b: _Budget) -> str:
    terms = [t for h in hits for t in h.terms]
    return _joined(terms, b.term, b.terms, lambda s: f"<i>{s}</i>")


def _terms_of(hits: Sequence[HitView]) -> list[str]:
    return [t for h in hits for t in h.terms]


def _title_html(hits: Sequence[HitView], b: _Budget, mask: bool = True) -> str:
    item = hits[0].item
    raw = mask_text(item.title or "", _terms_of(hits)) if mask else item.title
    title = safe(raw, b.title) or "(no title)"
    href = safe_url(item.url)
    if href is None:
        return title
    return f'<a href="{href}">{title}</a>'


def _locate(hits: Sequence[HitView]) -> tuple[str, int, int] | None:
    """(field text, start, end) of the first match: in the post text when any, else in the title."""
    item = hits[0].item
    fields = {"text": item.text or "", "title": item.title or ""}
    for want in ("text", "title"):
        spans = sorted((h.start, h.end) for h in hits
                       if h.field == want and 0 <= h.start < h.end <= len(fields[want]))
        if spans:
            return fields[want], spans[0][0], spans[0][1]
    # Offsets missing or stale (the text changed since): look the terms up again.
    for want in ("text", "title"):
        for h in hits:
            for term in h.terms:
                found = re.search(re.escape(term), fields[want], re.IGNORECASE) if term else None
                if found:
                    return fields[want], found.start(), found.end()
    return None


_MASK_PAD = 64     # a value cut by the snippet window's edge is still seen whole, so masked whole


def _snippet(hits: Sequence[HitView], units: int, mask: bool = True) -> str:
    """About ``units`` visible units around the first match, the matched text in bold; personal
    data around it masked unless ``mask`` is False. Without the post text (erased by retention),
    the snippet kept at store time (already masked)."""
    item = hits[0].item
    terms = _terms_of(hits)
    located = _locate(hits)
    if located is None:
        if item.text:
            head = item.text[:min(MAX_SCAN, units * 4 + 64 + _MASK_PAD)]
            return safe(mask_text(head, terms) if mask else head, units)
        kept = next((h.snippet for h in hits if h.snippet), None)
        return safe(kept, units) if kept else ""
    text, start, end = located
    term = clip(clean(text[start:end][:400]), min(100, units // 2))
    room = max(20, units - utf16_len(term))
    before_budget = room * 2 // 5
    window = before_budget * 4 + 32
    raw_before = text[max(0, start - window - _MASK_PAD):start]
    if mask:
        raw_before = mask_text(raw_before, terms)
    before = clip_left(clean(raw_before[-window:]), before_budget)
    if before and start > window and not before.startswith(ELLIPSIS):
        before = ELLIPSIS + before
    if before and text[start - 1].isspace():
        before += " "
    after_budget = max(10, room - utf16_len(before))
    window = after_budget * 4 + 32
    raw_after = text[end:end + window + _MASK_PAD]
    if mask:
        raw_after = mask_text(raw_after, terms)
    after = clip(clean(raw_after[:window]), after_budget)
    if after and end + window < len(text) and not after.endswith(ELLIPSIS):
        after += ELLIPSIS
    if after and text[end].isspace():
        after = " " + after
    bold = f"<b>{html.escape(term, quote=True)}</b>" if term else ""
    return html.escape(before, quote=True) + bold + html.escape(after, quote=True)


def _refs(hits: Sequence[HitView], limit: int) -> str:
    ids = sorted({h.id for h in hits})
    shown = ", ".join(f"#{i}" for i in ids[:limit])
    if len(ids) > limit:
        shown += f" +{len(ids) - limit} more"
    return ("hit " if len(ids) == 1 else "hits ") + shown


def _meta_line(hits: Sequence[HitView], b: _Budget) -> str:
    item = hits[0].item
    parts = [f"📡 {safe(item.source, b.source)}"]
    if item.author and clean_head(item.author, 8):
        parts.append(f"👤 {safe(item.author, b.author)}")
    if item.date is not None:
        parts.append(f"🗓 {format_when(item.date)}")
    return " · ".join(parts)


def triage_of(hits: Sequence[HitView]) -> Triage:
    """The item's triage as stored with its hits (computed the same way when a caller has none)."""
    for h in hits:
        if h.triage is not None:
            return h.triage
    return assess(hits[0].item.title, hits[0].item.text)


def _triage_line(hits: Sequence[HitView], units: int) -> str:
    return f"📊 {safe(triage_of(hits).line(), units)}"


def _build_alert(hits: Sequence[HitView], retro: bool, b: _Budget, held: bool = False, mask: bool = True) -> str:
    lines = [f"{_severity_label(_severity(hits))} · {_watches(hits, b)}",
             f"🔎 {_terms(hits, b)}" + (LOOKALIKE_NOTE if any(map(hit_lookalike, hits)) else ""),
             f"📰 {_title_html(hits, b, mask)}",
             _meta_line(hits, b),
             _triage_line(hits, b.title)]
    snippet = _snippet(hits, b.snippet, mask)
    if snippet:
        lines.append(f"<blockquote>{snippet}</blockquote>")
    tail = f"🔖 {_refs(hits, b.refs)}"
    if retro:
        tail += " · 🕵 retro-hunt"
    if held:
        tail += " · 🔕 held during a mute"
    lines.append(tail)
    return "\n".join(lines)


def _fit(build: Callable[[_Budget], str], budget: _Budget, limit: int = MAX_MESSAGE) -> str:
    """Build with ``budget``; if the visible text is still over ``limit``, rebuild smaller."""
    for factor in (1.0, 0.5, 0.25, 0.1, 0.02):
        message = build(budget.scaled(factor) if factor != 1.0 else budget)
        if utf16_len(visible_text(message)) <= limit:
            return message
    # Unreachable with sane budgets; keep a guaranteed-valid message rather than fail.
    return html.escape(clip(visible_text(message), limit), quote=True)


# ---------------------------------------------------------------- public renderers

def render_alert(hits: Sequence[HitView], retro: bool, *, held: bool = False, mask: bool = True) -> str:
    """One Telegram HTML message for ONE item: all of its hits for one chat.

    Shows severity, watch entries, matched terms, source, the title linked to the item URL
    (http/https/t.me only), author and date when known, the triage line (claimed records, kinds
    of personal data), a snippet around the first match with the term in bold, the hit
    references, the retro-hunt mark and, when ``held``, that the alert waited for the end of a
    mute. Personal data in the title and snippet is masked (``mask``), the watched terms never.
    Never over 4096 visible units.
    """
    if not hits:
        raise ValueError("render_alert needs at least one hit")
    return _fit(lambda b: _build_alert(hits, retro, b, held, mask), ALERT_BUDGET)


def render_repost(hits: Sequence[HitView], payload: Mapping[str, object], *, mask: bool = True) -> str:
    """The short "also seen on <source>" message for a repost of an earlier alert (sent as a reply
    to it): source, the title linked, the watch entries, the hit and the group's first hit.

    ``payload`` is the repost row's: ``first_hit``, ``first_source``, ``first_seen``, and
    ``retro`` / ``muted_watch`` marks.
    """
    if not hits:
        raise ValueError("render_repost needs at least one hit")

    def build(b: _Budget) -> str:
        lines = [f"🔁 <b>Also seen on</b> <code>{safe(hits[0].item.source, b.source)}</code>: "
                 f"{_title_html(hits, b, mask)}",
                 f"{_severity_label(_severity(hits))} · {_watches(hits, b)}",
                 _triage_line(hits, b.title)]
        tail = f"🔖 {_refs(hits, b.refs)}"
        first = payload.get("first_hit")
        if isinstance(first, int):
            tail += f" · repost of #{first}"
            if payload.get("first_source"):
                tail += f" (first seen on {safe(payload.get('first_source'), b.source)}"
                when = format_when(payload.get("first_seen")) if payload.get("first_seen") else ""
                tail += f", {safe(when, 40)})" if when else ")"
        if payload.get("retro"):
            tail += " · 🕵 retro-hunt"
        if payload.get("muted_watch"):
            tail += " · 🔕 held during a mute"
        lines.append(tail)
        return "\n".join(lines)

    return _fit(build, ALERT_BUDGET)


def _digest_block(hits: Sequence[HitView], b: _Budget, mask: bool = True) -> str:
    head = f"{_severity_label(_severity(hits))} · {_watches(hits, b)}"
    lines = [head, f"📰 {_title_html(hits, b, mask)}", f"{_meta_line(hits, b)} · 🔖 {_refs(hits, b.refs)}"]
    if any(h.retro for h in hits):
        lines[-1] += " · 🕵 retro-hunt"
    if any(map(hit_lookalike, hits)):
        lines[-1] += LOOKALIKE_NOTE
    lines.append(_triage_line(hits, b.title))
    snippet = _snippet(hits, b.snippet, mask)
    if snippet:
        lines.append(f"<i>{snippet}</i>")
    return "\n".join(lines)


_DIGEST_HEADER_UNITS = 120   # "📦 leakmon digest: N alerts (part i/k)" with room to spare
_DIGEST_SEPARATOR = "\n\n"


def pack_digest(items: Sequence[Sequence[HitView]], *, mask: bool = True) -> list[tuple[str, list[int]]]:
    """Digest messages with, for each, the indexes of the ``items`` it covers (in order).

    Every item is in exactly one message; every message is within the limit.
    """
    blocks: list[tuple[int, str, int]] = []
    block_limit = (MAX_MESSAGE - _DIGEST_HEADER_UNITS) // 3
    for index, hits in enumerate(items):
        if not hits:
            continue
        block = _fit(functools.partial(_digest_block, hits, mask=mask), DIGEST_BUDGET, block_limit)
        blocks.append((index, block, utf16_len(visible_text(block))))
    groups: list[list[tuple[int, str, int]]] = []
    used = MAX_MESSAGE  # forces a first group
    for entry in blocks:
        cost = entry[2] + len(_DIGEST_SEPARATOR)
        if not groups or used + cost > MAX_MESSAGE - _DIGEST_HEADER_UNITS:
            groups.append([])
            used = 0
        groups[-1].append(entry)
        used += cost
    total = len(blocks)
    out: list[tuple[str, list[int]]] = []
    for number, group in enumerate(groups, 1):
        part = f" (part {number}/{len(groups)})" if len(groups) > 1 else ""
        header = f"📦 <b>leakmon digest</b>: {total} alerts{part}"
        body = _DIGEST_SEPARATOR.join(block for _, block, _ in group)
        out.append((header + _DIGEST_SEPARATOR + body, [index for index, _, _ in group]))
    return out


def render_digest(items: Sequence[Sequence[HitView]], *, mask: bool = True) -> list[str]:
    """Several items per message (a burst for one chat); all items included across the list."""
    return [message for message, _ in pack_digest(items, mask=mask)]


def render_health(payload: Mapping[str, object]) -> str:
    """A source-health, config-problem or delivery-problem message from an outbox payload.

    Events: ``failing`` / ``recovered`` (source, reason, failures, since), ``config_error``
    (file, error), ``delivery_refused`` (chat, reason); anything else is listed key by key.
    """
    event = str(payload.get("event", ""))
    source = safe(payload.get("source"), 100)
    failures = safe(payload.get("failures"), 20)
    since = safe(format_when(payload.get("since")), 60)
    if event == "failing":
        lines = [f"⚠️ <b>Source failing</b>: <code>{source}</code>",
                 f"Reason: {safe(payload.get('reason'), 600) or 'unknown'}"]
        if failures:
            lines.append(f"{failures} consecutive failed polls" + (f" since {since}" if since else ""))
    elif event == "recovered":
        lines = [f"✅ <b>Source recovered</b>: <code>{source}</code>"]
        if failures:
            lines.append(f"Working again after {failures} failed polls"
                         + (f" (failing since {since})" if since else ""))
    elif event == "config_error":
        lines = [f"⚠️ <b>Config problem</b> in <code>{safe(payload.get('file'), 300)}</code>",
                 safe(payload.get("error"), 2000, multiline=True),
                 "The previous configuration keeps running."]
    elif event == "delivery_refused":
        lines = [f"⚠️ <b>Alerts to chat</b> <code>{safe(payload.get('chat'), 100)}</code> "
                 "<b>cannot be delivered</b>",
                 f"Telegram refused: {safe(payload.get('reason'), 600)}",
                 "The messages are parked; check the chat id and the bot's membership."]
    else:
        lines = [f"ℹ️ <b>{safe(event or 'notice', 60)}</b>"]
        for key, value in list(payload.items())[:20]:
            if key != "event":
                shown = value if isinstance(value, str) else json.dumps(value, default=str)
                lines.append(f"{safe(key, 60)}: {safe(shown, 300)}")
    return _fit(lambda b: "\n".join(line for line in lines if line), ALERT_BUDGET)


def render_text(payload: Mapping[str, object]) -> str:
    """A plain text notice ``{"text": ...}`` as safe HTML (escaped, cleaned, within the limit)."""
    text = safe(payload.get("text"), MAX_MESSAGE - 100, multiline=True)
    return text or "(empty message)"


def severity_mark(severity: str) -> str:
    """The coloured mark of a severity (⚪ when unknown)."""
    return SEVERITY_MARK.get(severity, "⚪")
