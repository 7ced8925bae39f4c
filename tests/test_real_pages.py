"""Real pages as they are, end to end: `leakmon once` on a tracker whose records carry mojibake and
lookalike letters (loopback server, real SQLite, alerts on the console), then `hits --format json`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main

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
