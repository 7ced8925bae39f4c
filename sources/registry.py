"""Every source kind module typed as :class:`~sources.contract.SourceModule`.

Assigning a module to the protocol type makes the type checker verify that it has the whole
contract (``KIND``, ``Options``, ``make_options``, ``collect``, ``parse``) with the right
signatures. It imports every kind, so the rest of leakmon uses the lazy :data:`sources.KINDS`
instead; ``tests/test_sources_common.py`` keeps both registries equal.
"""

from __future__ import annotations

from sources import html, json, pastebin, rss, telegram
from sources.contract import SourceModule

MODULES: dict[str, SourceModule] = {
    "html": html,
    "telegram": telegram,
    "rss": rss,
    "json": json,
    "pastebin": pastebin,
}
