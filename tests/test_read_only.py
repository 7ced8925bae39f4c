"""Read-only commands answer while another process holds the database's write lock."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import main
from tests.e2e_site import serve_world, world_config


def leakmon(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper() and k != "LEAKMON_TEST_TOKEN"}
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=120, env=env)


def test_status_hits_search_export_answer_while_a_writer_holds_the_lock(site, tmp_path: Path) -> None:
    serve_world(site)
    config = tmp_path / "config.toml"
    db = tmp_path / "leakmon.db"
    config.write_text(world_config(site.url(""), db), encoding="utf-8")
    assert CliRunner().invoke(main, ["--config", str(config), "once"], catch_exceptions=False).exit_code == 0

    writer = sqlite3.connect(db, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")          # what a long daemon transaction looks like
        writer.execute("INSERT INTO meta (key, value) VALUES ('held', 'yes')")
        status = leakmon(config, "status", "--format", "json")
        hits = leakmon(config, "hits", "--format", "json")
        search = leakmon(config, "search", "patients")
        export = leakmon(config, "export", "--format", "csv")
        # all four answered while the write lock was still held (it is released only below)
        assert writer.in_transaction
        writer.execute("COMMIT")
    finally:
        writer.close()
    assert status.returncode == 0, status.stderr
    assert {s["name"] for s in json.loads(status.stdout)["sources"]} >= {"forum-mybb", "news"}
    assert hits.returncode == 0 and len(json.loads(hits.stdout)) == 9, hits.stderr
    assert search.returncode == 0 and "France hospital patients 758k" in search.stdout, search.stderr
    assert export.returncode == 0 and len(export.stdout.splitlines()) == 10, export.stderr
    with sqlite3.connect(db) as conn:                  # and they wrote nothing
        assert conn.execute("SELECT value FROM meta WHERE key = 'held'").fetchone() == ("yes",)
