"""`leakmon once` on a five-source world served on loopback, alerts on the console (no token)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from tests.e2e_site import E2E, EXPECTED, serve_world, set_rss, world_config


@pytest.fixture
def world(site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("LEAKMON_TEST_TOKEN", raising=False)
    serve_world(site)
    config = tmp_path / "config.toml"
    config.write_text(world_config(site.url(""), tmp_path / "leakmon.db"), encoding="utf-8")
    return site, config


def cli(config: Path, *args: str) -> CliRunner.invoke:
    return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)


def stored_pairs(config: Path) -> set[tuple[str, str, str]]:
    result = cli(config, "hits", "--format", "json")
    assert result.exit_code == 0, result.output
    return {(h["watch"], h["source"], h["item_id"]) for h in json.loads(result.stdout)}


def test_once_finds_exactly_the_expected_hits(world) -> None:
    site, config = world
    result = cli(config, "once")
    assert result.exit_code == 0, result.output
    assert stored_pairs(config) == EXPECTED
    # the console shows the alerts, with the item link and the watch entry
    assert "France hospital patients 758k" in result.stdout
    assert "Clinique Pasteur" in result.stdout


def test_second_once_adds_nothing_and_fetches_no_known_thread(world) -> None:
    site, config = world
    assert cli(config, "once").exit_code == 0
    threads_before = [p for p in site.paths() if "/Thread-" in p or "/threads/" in p]
    assert len(threads_before) == len(set(threads_before)) == 9      # each thread page once
    result = cli(config, "once")
    assert result.exit_code == 0, result.output
    threads_after = [p for p in site.paths() if "/Thread-" in p or "/threads/" in p]
    assert threads_after == threads_before                          # no known thread fetched again
    assert stored_pairs(config) == EXPECTED
    status = json.loads(cli(config, "status", "--format", "json").stdout)
    assert status["outbox"]["pending"] == 0
    assert {s["name"] for s in status["sources"]} == {"forum-mybb", "forum-xf", "tg-leakchan", "news", "ransomware-live"}
    assert all(s["consecutive_failures"] == 0 and s["items_seen"] > 0 for s in status["sources"])


def test_an_edited_item_gets_its_hit_on_the_next_once(world) -> None:
    site, config = world
    assert cli(config, "once").exit_code == 0
    set_rss(site, "Mise à jour : l'accès venait d'un compte OX Softway.")
    assert cli(config, "once").exit_code == 0
    assert stored_pairs(config) == EXPECTED | {("Mediboard", "news", "rss-2")}


def test_scan_finds_a_watched_domain_in_a_local_csv(world, tmp_path: Path) -> None:
    _, config = world
    dump = tmp_path / "dump.csv"
    dump.write_text("email,password\nalice@example.org,x\nbob@chu-rennes.fr,hunter2\n", encoding="utf-8")
    result = cli(config, "scan", str(dump))
    assert result.exit_code == 0, result.output
    assert "dump.csv:3:" in result.stdout and "CHU de Rennes" in result.stdout
    assert "alice" not in result.stdout


def test_search_finds_stored_posts(world) -> None:
    _, config = world
    assert cli(config, "once").exit_code == 0
    result = cli(config, "search", "patients")
    assert result.exit_code == 0
    assert "France hospital patients 758k" in result.stdout
    hostile = cli(config, "search", '"unbalanced AND (')
    assert hostile.exit_code == 0


def test_check_on_a_broken_config_exits_2_naming_file_and_key(world, tmp_path: Path) -> None:
    _, config = world
    config.write_text(config.read_text().replace('\nurl = "', '\ninterval = "5x"\nurl = "', 1), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "check"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert 'config.toml: source[0].interval: "5x" is not a duration' in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_failing_source_exits_1_and_the_others_still_run(world) -> None:
    site, config = world
    site.route("/feed.xml", b"down", status=503)
    result = cli(config, "once")
    assert result.exit_code == 1
    assert "news failed: HTTP 503" in result.output
    assert {p for p in stored_pairs(config) if p[1] != "news"} == {p for p in EXPECTED if p[1] != "news"}
    status = json.loads(cli(config, "status", "--format", "json").stdout)
    news = next(s for s in status["sources"] if s["name"] == "news")
    assert news["consecutive_failures"] == 1 and news["last_error"] == "HTTP 503"


def test_exports_reparse_in_misp_and_stix(world) -> None:
    _, config = world
    assert cli(config, "once").exit_code == 0
    import stix2
    from pymisp import MISPEvent

    misp = cli(config, "export", "--since", "30d", "--format", "misp")
    assert misp.exit_code == 0, misp.output
    event = MISPEvent()
    event.load(misp.stdout)
    assert any(a.value.endswith("/leakchan/10") for a in event.attributes)   # the channel post's link
    assert 'leakmon:watch="Clinique Pasteur"' in {t.name for t in event.tags}
    bundle = stix2.parse(cli(config, "export", "--format", "stix").stdout, allow_custom=False)
    notes = [o for o in bundle.objects if o.type == "note"]
    assert len(notes) == len(EXPECTED)
    csv_out = cli(config, "export", "--format", "csv").stdout
    assert csv_out.splitlines()[0].startswith("id,watch,")
    assert len(csv_out.splitlines()) == len(EXPECTED) + 1


def test_check_fetch_counts_items_per_source_and_stores_nothing(world, tmp_path: Path) -> None:
    site, config = world
    result = cli(config, "check", "--fetch")
    assert result.exit_code == 0, result.output
    assert "forum-mybb: 4 items" in result.stdout and "forum-xf: 4 items" in result.stdout
    assert "- France hospital patients 758k" in result.stdout
    assert not [p for p in site.paths() if "/Thread-" in p or "/threads/" in p]     # no item page fetched
    assert not (tmp_path / "leakmon.db").exists()
    site.route("/xf/forums/leaks.5/", b"<html><body><p>Theme changed</p>" + b"<a href='/'>x</a>" * 30 + b"</body></html>")
    result = cli(config, "check", "--fetch")
    assert result.exit_code == 1 and "forum-xf: FAILED: no items found" in result.stdout


def test_an_unchanged_listing_is_not_parsed_again_even_after_a_restart(world) -> None:
    site, config = world
    assert cli(config, "once").exit_code == 0
    result = CliRunner().invoke(main, ["--config", str(config), "-v", "once"], catch_exceptions=False)
    assert result.exit_code == 0
    # every listing came back byte-identical: recognised as unchanged, in a new process's poll
    assert result.output.count("(unchanged)") == 5, result.output
    site.route("/s/leakchan", (E2E / "tg_channel.html").read_bytes().replace(b"lol nice", b"Mediboard leak"))
    result = cli(config, "once")
    assert result.exit_code == 0
    assert ("Mediboard", "tg-leakchan", "leakchan/11") in stored_pairs(config)


def test_retrohunt_by_hand_alerts_stored_posts_for_a_new_entry(world) -> None:
    _, config = world
    assert cli(config, "once").exit_code == 0
    config.write_text(config.read_text().replace("[[source]]", '[[watch]]\nname = "Escrow"\nterms = ["PM me"]\n\n'
                                                  "[[source]]", 1), encoding="utf-8")
    result = cli(config, "retrohunt", "--days", "30", "--watch", "Escrow")
    assert result.exit_code == 0, result.output
    assert "1 new hits" in result.stdout and "retro-hunt" in result.stdout
    # The hunt is reported as soon as it is done, before its alerts are delivered (printed here).
    report = result.stdout.index("retro-hunt: ")
    assert "Escrow" in result.stdout[report:] and "Escrow" not in result.stdout[:report], result.stdout
    rows = json.loads(cli(config, "hits", "--format", "json", "--watch", "Escrow").stdout)
    assert [(r["source"], r["item_id"], r["retro"]) for r in rows] == [("forum-mybb", "201", True)]
    again = cli(config, "retrohunt", "--watch", "Escrow")
    assert "0 new hits" in again.stdout                      # stored once, alerted once
    assert cli(config, "retrohunt", "--watch", "Nope").exit_code == 2


def test_an_item_page_that_failed_once_is_fetched_at_the_next_poll(world) -> None:
    site, config = world
    # "Mediboard" is only in the thread's page, not in its listing row; the page fails once
    thread = "/mybb/Thread-France-hospital-patients-758k"
    body = (E2E / "mybb_thread_201.html").read_bytes()
    answers = iter([503])

    def flaky(h) -> None:
        status = next(answers, 200)
        data = body if status == 200 else b"busy"
        h.send_response(status)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    site.route(thread, handler=flaky)
    first = cli(config, "once")
    assert "failed: HTTP 503 (retried next poll)" in first.output
    assert ("Mediboard", "forum-mybb", "201") not in stored_pairs(config)
    # the listing is byte-identical, yet the thread left out is fetched again and alerted
    second = cli(config, "once")
    assert second.exit_code == 0, second.output
    assert site.paths().count(thread) == 2
    assert ("Mediboard", "forum-mybb", "201") in stored_pairs(config)
    assert "France hospital patients 758k" in second.stdout
    # once read, the board is quiet again: the next poll finds the listing unchanged
    third = CliRunner().invoke(main, ["--config", str(config), "-v", "once", "--source", "forum-mybb"],
                               catch_exceptions=False)
    assert "(unchanged)" in third.output and site.paths().count(thread) == 2


def test_once_retrohunts_an_entry_added_since_the_last_run_once(world) -> None:
    _, config = world
    assert cli(config, "once").exit_code == 0
    config.write_text(config.read_text().replace("[[source]]", '[[watch]]\nname = "Escrow"\nterms = ["PM me"]\n\n'
                                                  "[[source]]", 1), encoding="utf-8")
    result = cli(config, "once")
    assert result.exit_code == 0, result.output
    rows = json.loads(cli(config, "hits", "--format", "json", "--watch", "Escrow").stdout)
    assert [(r["source"], r["item_id"], r["retro"]) for r in rows] == [("forum-mybb", "201", True)]
    assert "France hospital patients 758k" in result.stdout        # alerted, with the retro-hunt mark
    again = cli(config, "once")
    assert "France hospital patients 758k" not in again.stdout       # hunted once, alerted once
