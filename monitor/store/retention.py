"""Retention and the storage side of privacy: schema 4 (triage, kept snippets, evidence), erasing
what is kept too long, evidence rows.

The rules themselves live in monitor.privacy, monitor.triage and monitor.evidence.

What the database keeps, and for how long:

- post text (``items.text``) and its full-text index: until ``keep_text`` after the post was first
  seen, for ``search`` and retro-hunts. Then the text is erased: the FTS rows go (the update
  trigger issues FTS5's 'delete' with the old values, and an FTS 'optimize' merges the segments
  so no old term survives), ``secure_delete`` overwrites the freed bytes with zeros, and a
  checkpoint truncates the WAL file so it holds no older copy of the pages;
- titles, URLs, authors, dates, hits, the masked snippet of each hit and the triage figures
  (claimed records, kinds of data): kept, so ``hits`` and the alert history still work;
- evidence (the raw pages of items that hit, zlib-compressed): until ``keep_evidence``;
- poll log rows and sent outbox rows: until ``keep_text`` too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.evidence import PageRecord
from monitor.store.base import StoreBase, guarded, ts

VACUUM_SHARE = 0.25        # VACUUM when at least this share of the file's pages is free after pruning


def migrate_privacy(conn: sqlite3.Connection) -> None:
    """Schema 3 -> 4 (inside the opening transaction): triage and kept snippets, erasure marks,
    the evidence table."""
    conn.execute("ALTER TABLE items ADD COLUMN triage TEXT")           # JSON of monitor.triage.Triage
    conn.execute("ALTER TABLE items ADD COLUMN erased TEXT")           # when the text was erased
    conn.execute("ALTER TABLE hits ADD COLUMN snippet TEXT")           # masked, one line
    conn.execute(
        "CREATE TABLE evidence (id INTEGER PRIMARY KEY, item_pk INTEGER NOT NULL REFERENCES items(id), "
        "role TEXT NOT NULL, url TEXT NOT NULL, fetched TEXT NOT NULL, status INTEGER NOT NULL, "
        "headers TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL, body BLOB NOT NULL, "
        "UNIQUE (item_pk, sha256))")
    conn.execute("CREATE INDEX idx_evidence_fetched ON evidence (fetched)")
    conn.execute("PRAGMA user_version = 4")


def save_evidence(conn: sqlite3.Connection, item_pk: int, pages: Sequence[PageRecord]) -> int:
    """Keep the pages that produced an item (inside the caller's transaction). A page already kept
    for that item (same bytes) is not kept twice. Returns how many were added."""
    added = 0
    for page in pages:
        cur = conn.execute(
            "INSERT OR IGNORE INTO evidence (item_pk, role, url, fetched, status, headers, sha256, size, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (item_pk, page.role, page.url, page.fetched_text, page.status, page.headers_json(), page.sha256,
             len(page.body), page.compressed()))
        added += cur.rowcount
    return added


def evidence_of_hit(conn: sqlite3.Connection, hit_id: int) -> list[PageRecord] | None:
    """The pages kept for a hit's item, listing first then item page; None when the hit does not exist."""
    row = conn.execute("SELECT item_pk FROM hits WHERE id = ?", (hit_id,)).fetchone()
    if row is None:
        return None
    cur = conn.execute("SELECT role, url, fetched, status, headers, sha256, body FROM evidence WHERE item_pk = ? "
                       "ORDER BY role = 'item', fetched, id", (row[0],))
    return [PageRecord.from_row(*r) for r in cur]


@dataclass(frozen=True)
class PruneResult:
    """What one pruning erased."""

    texts: int = 0             # post texts erased
    evidence: int = 0          # evidence pages deleted
    polls: int = 0             # poll log rows deleted
    outbox: int = 0            # sent outbox rows deleted
    vacuumed: bool = False

    def __str__(self) -> str:
        return (f"{self.texts} post texts erased, {self.evidence} evidence pages deleted, "
                f"{self.polls} poll log rows and {self.outbox} sent alerts deleted"
                + ("; database file compacted" if self.vacuumed else ""))


def prune(conn: sqlite3.Connection, text_cutoff: str, evidence_cutoff: str, now: str) -> PruneResult:
    """Erase what the retention rules say (inside the caller's transaction): post texts first seen
    before ``text_cutoff``, evidence fetched before ``evidence_cutoff``, old poll rows and sent
    outbox rows. The caller runs :func:`scrub` after the commit."""
    texts = conn.execute(
        "UPDATE items SET text = NULL, erased = ? WHERE first_seen < ? AND text IS NOT NULL",
        (now, text_cutoff)).rowcount
    evidence = conn.execute("DELETE FROM evidence WHERE fetched < ?", (evidence_cutoff,)).rowcount
    polls = conn.execute("DELETE FROM polls WHERE started < ?", (text_cutoff,)).rowcount
    outbox = conn.execute("DELETE FROM outbox WHERE state = 'sent' AND sent_at < ?", (text_cutoff,)).rowcount
    if texts:
        # Merge the FTS segments: the 'delete' markers of the erased rows otherwise sit next to
        # the old terms, which stay in the older segments until some later merge.
        conn.execute("INSERT INTO items_fts (items_fts) VALUES ('optimize')")
    return PruneResult(texts=texts, evidence=evidence, polls=polls, outbox=outbox)


def scrub(conn: sqlite3.Connection, erased: PruneResult) -> bool:
    """After a prune is committed: compact the file when much of it is free, then checkpoint and
    truncate the WAL, so neither file holds an old copy of an erased page. Returns whether it
    vacuumed. Must run outside a transaction."""
    vacuumed = False
    if erased.texts or erased.evidence:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        if pages and free / pages >= VACUUM_SHARE:
            conn.execute("VACUUM")
            vacuumed = True
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return vacuumed


class RetentionMixin(StoreBase):
    """The retention part of :class:`monitor.store.Store`."""

    @guarded("prune")
    def prune(self, now: datetime, *, keep_text: float, keep_evidence: float) -> PruneResult:
        """Apply the retention rules (durations in seconds): erase the text of posts first seen
        longer than ``keep_text`` ago (FTS rows and bytes too; titles, URLs, hits, snippets and
        triage stay), delete evidence older than ``keep_evidence``, and poll log rows and sent
        outbox rows older than ``keep_text``. See the module docstring for how the bytes go."""
        text_cutoff = ts(now - timedelta(seconds=keep_text))
        evidence_cutoff = ts(now - timedelta(seconds=keep_evidence))
        with self._write() as conn:
            result = prune(conn, text_cutoff, evidence_cutoff, ts(now))
        return replace(result, vacuumed=scrub(self._conn, result))
