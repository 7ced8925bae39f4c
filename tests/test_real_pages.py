"""Real pages as they are, end to end: `leakmon once` on a tracker whose records carry mojibake and
lookalike letters (loopback server, real SQLite, alerts on the console), then `hits --format json`."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from tests.support.files import fixture

APOSTROPHE_TWICE = "’".encode().decode("cp1252").encode().decode("cp1252")

# ransomwatch posts.json records (post_title, group_name, discovered), as trackers re-encode them.
RECORDS = [
    {"post_title": "La ChÃ¢taigneraie", "group_name": "lockbit3", "discovered": "2026-11-20 10:00:00.000000"},
    {"post_title": "SantÃ©lys", "group_name": "akira", "discovered": "2026-11-21 10:00:00.000000"},
    {"post_title": "Prefeitura de BalneÃ¡rio CamboriÃº", "group_name": "ransomhub",
     "discovered": "2026-11-22 10:00:00.000000"},
    {"post_title": "Bright Smile Dentistry\u00e2\u0080\u008b", "group_name": "play",
     "discovered": "2026-11-22 11:00:00.000000"},
    {"post_title": "Children" + APOSTROPHE_TWICE + "s Hospital of Lyon", "group_name": "qilin",
     "discovered": "2026-11-22 12:00:00.000000"},
    {"post_title": "\u0421ompilation of lawyers France", "group_name": "cicada",
     "discovered": "2026-11-23 10:00:00.000000"},
    {"post_title": "Axi\u0441orp", "group_name": "medusa", "discovered": "2026-11-24 10:00:00.000000"},
    # decoys: a Cyrillic word whose skeleton is "Bayer", legit Portuguese capitals
    {"post_title": "\u0412\u0430\u0443\u0435\u0433 \u0431\u0430\u0437\u0430", "group_name": "x",
     "discovered": "2026-11-24 11:00:00.000000"},
    {"post_title": "PREFEITURA DE SÃO PAULO", "group_name": "y", "discovered": "2026-11-24 12:00:00.000000"},
]

WATCH = {
    "La Châtaigneraie": "La Châtaigneraie", "Santélys": "Santélys",
    "Balneário Camboriú": "Prefeitura de Balneário Camboriú", "Smile Dentistry": "Bright Smile Dentistry",
    "Children's Hospital": "Children's Hospital of Lyon", "Compilation lawyers": "Compilation of lawyers",
    "Axicorp": "Axicorp", "Bayer": "Bayer", "Sao Paulo": "Prefeitura de Sao Paulo",
}


@pytest.fixture
def tracker(site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("LEAKMON_TELEGRAM_TOKEN", raising=False)
    site.route("/posts.json", json.dumps(RECORDS, ensure_ascii=False),
               headers={"Content-Type": "application/json; charset=utf-8"})
    watches = "".join(f'[[watch]]\nname = "{name}"\nterms = ["{term}"]\n' for name, term in WATCH.items())
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{(tmp_path / "l.db").as_posix()}"\n[network]\nhost_delay = "0s"\n'
                      f'{watches}[[source]]\nname = "tracker"\nkind = "json"\npreset = "ransomwatch"\n'
                      f'url = "{site.url("/posts.json")}"\n', encoding="utf-8")
    return config


def cli(config: Path, *args: str):
    return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)


def test_repaired_and_lookalike_titles_match_and_are_stored_repaired(tracker: Path) -> None:
    result = cli(tracker, "once")
    assert result.exit_code == 0, result.output
    rows = json.loads(cli(tracker, "hits", "--format", "json").stdout)
    by_watch = {row["watch"]: row for row in rows}
    assert set(by_watch) == {"La Châtaigneraie", "Santélys", "Balneário Camboriú", "Smile Dentistry",
                             "Children's Hospital", "Compilation lawyers", "Axicorp", "Sao Paulo"}
    # stored (and shown) repaired; the legit Portuguese title untouched
    assert by_watch["La Châtaigneraie"]["title"] == "La Châtaigneraie"
    assert by_watch["Balneário Camboriú"]["title"] == "Prefeitura de Balneário Camboriú"
    assert by_watch["Smile Dentistry"]["title"] == "Bright Smile Dentistry"
    assert by_watch["Children's Hospital"]["title"] == "Children’s Hospital of Lyon"
    assert by_watch["Sao Paulo"]["title"] == "PREFEITURA DE SÃO PAULO"
    # lookalike hits are flagged, and only they; the title keeps its real letters
    assert {w for w, row in by_watch.items() if row["lookalike"]} == {"Compilation lawyers", "Axicorp"}
    assert by_watch["Axicorp"]["title"] == "Axi\u0441orp"
    # the console alert says so
    assert result.stdout.count("matched through lookalike letters") == 2
    assert "La Châtaigneraie" in result.stdout and "ChÃ¢" not in result.stdout




def _run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=120, env=env)


def test_check_fetch_show_prints_every_field_and_its_selector(site, tmp_path: Path) -> None:
    site.route("/Forum-Databases", fixture("mybb_forumdisplay_truncated.html"),
               headers={"Content-Type": "text/html; charset=utf-8"})
    site.route("/index.php", fixture("mybb_index.html"),
               headers={"Content-Type": "text/html; charset=utf-8"})
    site.route("/posts.json", json.dumps(RECORDS[:2], ensure_ascii=False),
               headers={"Content-Type": "application/json; charset=utf-8"})
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\npath = "{(tmp_path / "l.db").as_posix()}"\n'
        f'[[source]]\nname = "board"\nkind = "html"\npreset = "mybb"\nurl = "{site.url("/Forum-Databases")}"\n'
        f'[[source]]\nname = "board-home"\nkind = "html"\npreset = "mybb"\nurl = "{site.url("/index.php")}"\n'
        f'[[source]]\nname = "tracker"\nkind = "json"\npreset = "ransomwatch"\nurl = "{site.url("/posts.json")}"\n',
        encoding="utf-8")
    shown = _run(config, "check", "--fetch", "--source", "board", "--show")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "  board: 3 items" in out and "  board-home:" not in out and "  tracker:" not in out
    assert "title    French Operator(s) (Orange, SFR, Bouygues) customers 2026" in out
    assert "<- the title attribute of span[id^='tid_'] > a, a[id^='tid_'] (the visible text is cut)" in out
    assert "item_id  5101" in out and "<- mybb id rule" in out
    assert "date     2026-11-29T19:01:00Z" in out and "-> span[title]" in out
    assert "author   kiwi" in out
    assert out.count("      item ") == 3
    # another kind: its fields and where they come from, mojibake repaired as a poll would store it
    tracker = _run(config, "check", "--fetch", "--source", "tracker", "--show")
    assert tracker.returncode == 0, tracker.stderr
    assert "title    La Châtaigneraie" in tracker.stdout and "preset ransomwatch; mojibake repaired" in tracker.stdout
    # a forum index gets advice, and the run fails (exit 1)
    home = _run(config, "check", "--fetch", "--source", "board-home")
    assert home.returncode == 1
    assert "forum index" in home.stdout and "thread list" in home.stdout
    # usage mistakes
    assert _run(config, "check", "--show").returncode == 2
    unknown = _run(config, "check", "--fetch", "--source", "nope")
    assert unknown.returncode == 2 and "no source named 'nope'" in unknown.stderr


def test_alert_and_digest_say_when_the_match_went_through_lookalike_letters() -> None:
    from datetime import datetime

    from monitor.alerts.render import render_alert, render_digest
    from monitor.records import HitView, Item
    from tests.fakebot import check_html

    now = datetime(2026, 11, 29, tzinfo=UTC)

    def view(title: str, hit_id: int) -> HitView:
        item = Item(source="tracker", item_id=str(hit_id), url="http://t.example/x", title=title, text=None)
        start = title.index("xi") - 1
        return HitView(id=hit_id, watch="Axicorp", kind="company", severity="high", terms=("Axicorp",),
                       field="title", start=start, end=start + 7, retro=False, first_seen=now, item=item)

    mixed, clean = view("Leak: Axi\u0441orp payroll", 1), view("Leak: Axicorp payroll", 2)
    assert "matched through lookalike letters" in check_html(render_alert([mixed], retro=False))
    assert "lookalike" not in check_html(render_alert([clean], retro=False))
    digest = check_html(render_digest([[mixed]] + [[clean]] * 11)[0])
    assert digest.count("matched through lookalike letters") == 1


def test_a_malformed_attr_selector_is_a_config_error_naming_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[source]]\nname = "board"\nkind = "html"\nurl = "http://board.example/f"\n'
                      '[source.selectors]\nitem = "tr"\ntitle = "a.subject_new::attr(title"\nlink = "a"\n',
                      encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "check"])
    assert result.exit_code == 2
    assert f"{config}: source[0].selectors.title:" in result.output and "::attr() is malformed" in result.output
