"""store.base.insert_rows (many rows per INSERT statement) stores exactly what executemany of the
same rows stores: the rows, their ids, what INSERT OR IGNORE skips, and the full-text index."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.store import Store
from monitor.store.base import insert_rows

HEAD = "INSERT OR IGNORE INTO items (source, item_id, url, title, text, author, date, first_seen, updated)"
ONE = HEAD + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
ROW = st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 150).map(str), TEXT, TEXT,
                st.one_of(st.none(), TEXT), st.one_of(st.none(), TEXT), st.none(),
                st.just("2024-11-20T10:00:00.000000Z"), st.just("2024-11-20T10:00:00.000000Z"))


def contents(conn: sqlite3.Connection) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    items = conn.execute("SELECT * FROM items ORDER BY id").fetchall()
    index = conn.execute("SELECT rowid, title, text FROM items_fts ORDER BY rowid").fetchall()
    return items, index


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ROW, max_size=300), st.lists(ROW, max_size=20))
def test_insert_rows_stores_what_executemany_stores(tmp_path: Path, rows: list[tuple[object, ...]],
                                                    earlier: list[tuple[object, ...]]) -> None:
    results = []
    for name, insert in (("many", lambda conn, r: conn.executemany(ONE, r)),
                         ("rows", lambda conn, r: insert_rows(conn, HEAD, r))):
        path = tmp_path / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        store = Store(path)
        try:
            conn = store._conn
            conn.executemany(ONE, earlier)          # rows already stored: OR IGNORE keeps them
            insert(conn, rows)
            results.append(contents(conn))
        finally:
            store.close()
    assert results[0] == results[1]
    assert len(results[1][0]) == len({(r[0], r[1]) for r in [*earlier, *rows]})


def test_more_rows_than_one_statement_takes() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a, b, c, d, e, f, g, h, i, j)")
    rows = [tuple(range(n, n + 10)) for n in range(1000)]      # 10,000 values: 11 statements of <= 999
    insert_rows(conn, "INSERT INTO t (a, b, c, d, e, f, g, h, i, j)", rows)
    assert conn.execute("SELECT * FROM t ORDER BY rowid").fetchall() == rows
