"""The commands that read the store: `status`, `hits`, `search`, `export`, `prune`, `evidence`.

Registered on the ``leakmon`` group by ``monitor/cli.py``; heavy modules are imported inside the
commands so that ``leakmon --help`` answers at once.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from monitor.clibase import (
    EXIT_FAILED,
    EXIT_USAGE,
    Options,
    echo_rows,
    fail,
    guard,
    no_mask_option,
    out_format,
    since_time,
)


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default=None,
              help="table on a terminal, json when piped.")
@click.pass_obj
@guard
def status(opts: Options, fmt: str | None) -> None:
    """Per source: last poll, last success, items seen, consecutive failures, last error; and the outbox.

    \b
    Example:
        leakmon status --format json | jq '.sources[] | select(.consecutive_failures > 0)'
    """
    from monitor.report import iso, to_json, to_table
    from monitor.store import Store
    from monitor.timetext import ago

    config = opts.load()
    store = Store(config.storage.path, read_only=True)
    try:
        now = datetime.now(UTC)
        states = store.all_status([s.name for s in config.sources])
        stats = store.outbox_stats(now)
    finally:
        store.close()
    configured = {s.name for s in config.sources}
    rows = [{"name": s.name, "last_poll": iso(s.last_poll), "last_ok": iso(s.last_ok),
             "consecutive_failures": s.consecutive_failures, "last_error": s.last_error,
             "items_seen": s.items_seen, "configured": s.name in configured} for s in states]
    outbox = {"pending": stats.pending, "oldest_pending_age_s": stats.oldest_pending_age_s, "parked": stats.parked,
              "muted": stats.muted}
    if out_format(fmt, ("table", "json")) == "json":
        click.echo(to_json({"sources": rows, "outbox": outbox}))
        return
    table = [{"source": s.name, "last poll": ago(s.last_poll, now), "last ok": ago(s.last_ok, now),
              "items": s.items_seen, "failures": s.consecutive_failures, "last error": s.last_error or ""}
             for s in states]
    click.echo(to_table(table, ("source", "last poll", "last ok", "items", "failures", "last error")))
    age = f", oldest {stats.oldest_pending_age_s:.0f}s" if stats.oldest_pending_age_s is not None else ""
    click.echo(f"\noutbox: {stats.pending} pending{age}; {stats.parked} parked; {stats.muted} held by a mute")


@click.command()
@click.option("--since", default=None, help="Only hits first seen this recently (e.g. 7d, 12h).")
@click.option("--watch", default=None, help="Only this watch entry.")
@click.option("--limit", type=int, default=None, help="At most this many.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default=None,
              help="table on a terminal, json when piped.")
@no_mask_option
@click.pass_obj
@guard
def hits(opts: Options, since: str | None, watch: str | None, limit: int | None, fmt: str | None,
         no_mask: bool) -> None:
    """Stored hits, newest first, with their triage (claimed records, kinds of personal data).

    Personal data in titles and snippets is masked unless --no-mask is given.

    \b
    Example:
        leakmon hits --since 7d --watch Mediboard --format csv > hits.csv
    """
    from monitor.report import HIT_COLUMNS, hit_rows, to_table
    from monitor.store import Store

    config = opts.load()
    store = Store(config.storage.path, read_only=True)
    try:
        rows = hit_rows(store.hits(since=since_time(since), watch=watch, limit=limit),
                        mask=config.privacy.mask and not no_mask)
    finally:
        store.close()
    fmt = out_format(fmt, ("table", "json", "csv"))
    if fmt == "table":
        click.echo(to_table(rows, HIT_COLUMNS, {"title": 50, "url": 50}))
    else:
        echo_rows(rows, fmt)


@click.command()
@click.argument("query")
@click.option("--limit", default=50, show_default=True)
@click.pass_obj
@guard
def search(opts: Options, query: str, limit: int) -> None:
    """Full-text search over stored posts (SQLite FTS5): source, date, title and URL of each match.

    \b
    Example:
        leakmon search '"centre hospitalier" dump'
    """
    from monitor.report import iso
    from monitor.store import Store

    config = opts.load()
    store = Store(config.storage.path, read_only=True)
    try:
        found = store.search(query, limit=limit)
    finally:
        store.close()
    for item, first_seen in found:
        when = iso(item.date or first_seen)
        click.echo(f"{item.source}\t{when}\t{' '.join(item.title.split())}\t{item.url}")
    if not found:
        click.echo("no stored post matches", err=True)


@click.command()
@click.option("--since", default="7d", show_default=True, help="Hits first seen this recently.")
@click.option("--watch", default=None, help="Only this watch entry.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "misp", "stix"]), required=True)
@no_mask_option
@click.pass_obj
@guard
def export(opts: Options, since: str, watch: str | None, fmt: str, no_mask: bool) -> None:
    """Hits for other tools: JSON, CSV, a MISP event or a STIX 2.1 bundle.

    Personal data in titles and snippets is masked unless --no-mask is given.

    \b
    Example:
        leakmon export --since 30d --format csv > hits.csv
    """
    from monitor.report import hit_rows
    from monitor.store import Store

    config = opts.load()
    store = Store(config.storage.path, read_only=True)
    try:
        rows = hit_rows(store.hits(since=since_time(since), watch=watch), mask=config.privacy.mask and not no_mask)
    finally:
        store.close()
    if fmt in ("json", "csv"):
        echo_rows(rows, fmt)
    else:
        from monitor.export import render_export

        click.echo(render_export(rows, fmt))


@click.command()
@click.pass_obj
@guard
def prune(opts: Options) -> None:
    """Apply the retention rules now ([privacy] keep_text, keep_evidence) and say what was erased.

    Post texts older than keep_text are erased (full-text index and bytes in the file too);
    titles, URLs, hits, masked snippets and triage figures stay. Evidence older than
    keep_evidence is deleted. The daemon does the same every 6 hours.

    \b
    Example:
        leakmon prune
    """
    from monitor.store import Store

    config = opts.load()
    store = Store(config.storage.path)
    try:
        result = store.prune(datetime.now(UTC), keep_text=config.privacy.keep_text,
                             keep_evidence=config.privacy.keep_evidence)
    finally:
        store.close()
    click.echo(f"prune: {result}")


@click.command()
@click.argument("hit_id", type=int)
@click.option("--out", "out_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="WARC file to write (default: hit-HIT_ID.warc.gz).")
@click.pass_obj
@guard
def evidence(opts: Options, hit_id: int, out_path: str | None) -> None:
    """The raw pages kept for a hit, as a WARC 1.1 file (never masked, never sent anywhere).

    Exit 1 when the hit has no evidence (a retro-hunt hit, or kept longer than keep_evidence).

    \b
    Example:
        leakmon evidence 42 --out hit-42.warc.gz && warcio index hit-42.warc.gz
    """
    from monitor.evidence import write_warc
    from monitor.store import Store

    config = opts.load()
    store = Store(config.storage.path)
    try:
        pages = store.evidence(hit_id)
    finally:
        store.close()
    if pages is None:
        fail(f"no hit #{hit_id}", EXIT_USAGE)
    if not pages:
        fail(f"no evidence kept for hit #{hit_id} (retro-hunt hits have none; evidence is kept "
              f"{config.privacy.keep_evidence / 86400:g} days)", EXIT_FAILED)
    path = out_path or f"hit-{hit_id}.warc.gz"
    try:
        with open(path, "wb") as out:
            count = write_warc(pages, out, info={"leakmon-hit": str(hit_id)})
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}", EXIT_FAILED)
    click.echo(f"{path}: {count} page(s) of hit #{hit_id}")
