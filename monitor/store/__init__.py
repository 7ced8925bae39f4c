"""SQLite storage: the only code that writes SQL, split by what it stores.

``schema`` (creating and migrating the file), ``ingest`` (a poll's items, hits, alert rows, poll
log, source state), ``outbox`` (the queue, its send claims and send log), ``mutes``, ``queries``
(hits, search, status, polls, evidence), ``meta`` (small values, watch-list fingerprints),
``retention`` (erasing what is kept too long, evidence rows), put together in ``core.Store``;
``asyncstore.AsyncStore`` runs them in one worker thread. The rules that are not SQL live outside
the package as pure functions: :mod:`monitor.health` (source health), :mod:`monitor.reposts`
(repost grouping), :mod:`monitor.routing` (which rows a hit makes, what a mute holds),
:mod:`monitor.sendclaims` (who may send a row now). The records are in :mod:`monitor.records`.

One file, one writer connection. Every write is one ``BEGIN IMMEDIATE`` transaction, so a poll's
items, hits, alert outbox rows, poll log row, source state and health rows are committed together
or not at all: nothing can be sent for an item the store does not hold, and nothing a poll learned
is lost once it is committed.

Durability: the database runs in WAL mode with ``synchronous=NORMAL``. WAL+NORMAL is durable
against a crash of the PROCESS (``kill -9``, an exception, OOM): a committed transaction is in the
WAL file, which the OS keeps, and the next open replays it. It is not durable against power loss or
an OS crash (the last transactions before the cut may be lost, the file stays consistent); FULL
would fsync every commit (~10x slower per poll) for a risk a monitor can live with.

Schema (``PRAGMA user_version`` = :data:`SCHEMA_VERSION`, ``PRAGMA application_id`` =
:data:`APPLICATION_ID`)::

    items         id, source, item_id, url, title, text, author, date, first_seen, updated
                  UNIQUE(source, item_id); FTS5 index items_fts(title, text) kept in step by triggers
    hits          id, item_pk -> items, watch, kind, severity, terms (JSON), field, start_pos,
                  end_pos, retro, first_seen, false_positive, repost_of (v2); UNIQUE(item_pk, watch)
    outbox        id, chat, kind (alert|repost|health|text), item_pk, hit_ids (JSON), payload (JSON),
                  state (pending|muted|sent|parked), created, attempts, next_attempt, last_error,
                  sent_at, message_id, sent_batch, claim_owner (v3), claim_until (v3)
    send_slots (v3) chat, at: when a message went (or was cleared to go) to a chat, by any process
    mutes (v2)    chat, watch, until, created; PRIMARY KEY(chat, watch)
    source_state  source, last_poll, last_ok, consecutive_failures, last_error, failing_since,
                  health_alerted, had_items, last_item_id
    polls         id, source, started, duration, ok, error, items, new_items, hits
    meta          key, value (also the watch-list fingerprints: "watch-print:<entry name>")
    (v4)          items.triage, items.erased, hits.snippet, evidence: see monitor.store.retention
    (v5)          the FTS update trigger fires on updates of title or text only

Reposts (v2): a hit that reposts an earlier one (:mod:`monitor.reposts`) joins that hit's group
(``repost_of`` = the group's first hit) and queues a short "repost" row instead of a full alert;
:meth:`Store.due_outbox` holds a repost row while the first alert is still pending or muted in
that chat, then hands it out with ``reply_to`` = that alert's message id.

Send claims (v3): a process sends an outbox row only after :meth:`Store.claim_send` gave it the row
(owner + lease, taken in the write transaction that checks the row and the rate limits), so two
processes on one database never send the same row. The same transaction reads and writes
``send_slots``, so the per-chat and overall rate limits hold across processes.

Timestamps are stored as fixed-width ISO 8601 UTC strings (``2024-11-20T10:00:00.000000Z``), so
they sort as text; datetimes in and out of the API are timezone-aware UTC (a naive datetime given
to the store is taken as UTC).
"""

from monitor.store.asyncstore import AsyncStore
from monitor.store.core import Store
from monitor.store.retention import PruneResult
from monitor.store.schema import APPLICATION_ID, SCHEMA_VERSION

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "AsyncStore", "PruneResult", "Store"]
