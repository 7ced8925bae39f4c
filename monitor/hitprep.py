"""What a post's hits store besides the hit itself: the post's triage and each hit's masked snippet.

Both are pure functions of the post's title and text and of the hit, so they are computed once
per post, and where the caller can, outside the store's write transaction (the retro-hunt does it
beside matching, so a long hunt holds the write lock only for the inserts). The store uses a
:class:`Prepared` post only when the title and text it holds are still those it was prepared
from; otherwise it computes them again from what it holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from monitor.privacy import could_hold_personal_data, masked_snippet
from monitor.records import Hit
from monitor.triage import Triage, assess

__all__ = ["Prepared", "Snippets", "prepare"]


class Snippets:
    """Masked snippets of the hits of one post (title and text as stored, None read as "").

    Whether a field can hold personal data at all is asked once per field, not per hit: a field
    that cannot gets its snippets without the finders (same result, see monitor.privacy). A
    snippet is a function of the field, the match's span and the terms only: the hits of many
    entries on one match (entries sharing an alias: dozens on a post) share one computation.
    """

    def __init__(self, title: str, text: str) -> None:
        self.title = title
        self.text = text
        self._maskable: dict[str, bool] = {}
        self._made: dict[tuple[str, int, int, tuple[str, ...]], str] = {}

    def of(self, hit: Hit) -> str:
        """The masked snippet kept with ``hit`` (its match in the field it names)."""
        key = (hit.field, hit.start, hit.end, hit.terms)
        made = self._made.get(key)
        if made is not None:
            return made
        shown = self.text if hit.field == "text" else self.title
        mask = self._maskable.get(hit.field)
        if mask is None:
            mask = self._maskable[hit.field] = could_hold_personal_data(shown)
        made = self._made[key] = masked_snippet(shown, hit.start, hit.end, hit.terms, mask=mask)
        return made


@dataclass(frozen=True)
class Prepared:
    """A post's triage and its hits' snippets, computed from ``title`` and ``text``."""

    title: str
    text: str
    triage: Triage
    snippets: Mapping[Hit, str] = field(default_factory=dict)

    def fits(self, title: str, text: str) -> bool:
        """Whether this was prepared from this title and text (the store's, at write time)."""
        return self.title == title and self.text == text


def prepare(title: str | None, text: str | None, hits: Iterable[Hit]) -> Prepared:
    """The triage of a post and the snippets of ``hits`` on it (None title or text read as "")."""
    title, text = title or "", text or ""
    snippets = Snippets(title, text)
    return Prepared(title, text, assess(title, text), {hit: snippets.of(hit) for hit in hits})
