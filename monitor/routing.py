"""Alert routing and mutes: which outbox rows a new hit makes, and which rows a mute holds. Pure rules.

Each new hit goes to every chat of its watch entry. The new hits of one item for one chat make ONE
row, unless they differ in repost group or mute: a hit that reposts an earlier one makes a "repost"
row, and a hit of a (chat, watch) that is muted a row held in state "muted" (one row per muted
watch entry, ``payload.muted_watch``), released when the mute ends.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    """Where new hits go: one outbox row per distinct route."""

    item_pk: int
    chat: str
    first_hit: int | None        # the first hit of the repost group, None for a first sighting
    muted_watch: str | None      # the watch entry whose mute holds the row, None when not held


def routes(item_pk: int, watch: str, chats: Iterable[str], first_hit: int | None,
           muted: Collection[tuple[str, str]]) -> list[Route]:
    """The routes of one new hit of ``watch`` on an item: one per chat (each chat once);
    ``muted`` holds the (chat, watch) pairs muted now."""
    return [Route(item_pk, chat, first_hit, watch if (chat, watch) in muted else None)
            for chat in dict.fromkeys(chats)]


def outbox_row(route: Route, *, retro: bool, first_item_pk: int | None) -> tuple[str, str, dict[str, object]]:
    """(kind, state, payload) of the row of one route; ``first_item_pk`` is the item of the
    group's first hit (for reposts)."""
    payload: dict[str, object] = {"retro": True} if retro else {}
    if route.first_hit is not None:
        payload.update(first_hit=route.first_hit, first_item_pk=first_item_pk)
    if route.muted_watch is not None:
        payload["muted_watch"] = route.muted_watch
    return ("alert" if route.first_hit is None else "repost", "pending" if route.muted_watch is None else "muted",
            payload)


def caught_by_mute(watches_of: Mapping[int, Collection[str]], watch: str) -> list[int]:
    """The pending rows a new mute of ``watch`` holds: those (row id -> the watch entries its hits
    name) that name only this entry; a row naming other entries too still goes out."""
    return [rid for rid, names in watches_of.items() if set(names) == {watch}]
