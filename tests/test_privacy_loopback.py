"""Privacy end to end on loopback: a MyBB post with a sample of patients' data reaches the fake Bot
API masked and with its triage line; `leakmon prune` erases the text for real; `leakmon evidence`
writes a WARC that warcio reads back."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from monitor.cli import main
from tests.fakebot import FakeBot
from tests.loopback import LoopbackSite
from tests.support.files import fixture

HTML = {"Content-Type": "text/html; charset=utf-8"}
SOC = -1001111111111
SAMPLE = ["jean.dupont@gmail.com", "claire.martin", "06 12 34 56 78", "+44 20 7946 0958",
          "1 84 12 76 451 089 46", "2 55 08 14 168 025 38", "FR76 3000 6000 0112 3456 7890 189",
          "4970 1012 3456 7893"]
WRONG = ["1 84 12 76 451 089 47", "FR76 3000 6000 0112 3456 7890 188", "4970 1012 3456 7894"]
BODY_ONLY_WORD = "Zanzibarique"


def config_text(site: LoopbackSite, db: Path, bot: FakeBot, keep: str = "30d") -> str:
    return f'''
[storage]
path = "{db.as_posix()}"
[privacy]
keep_text = "{keep}"
keep_evidence = "{keep}"
[network]
timeout = "5s"
host_delay = "0s"
[telegram]
token_env = "LEAKMON_TEST_TOKEN"
api_url = "{bot.api_url}"
default_chats = ["soc"]
[telegram.chats]
soc = {SOC}

[[watch]]
name = "CHU de Rennes"
kind = "establishment"
terms = ["CHU de Rennes", "chu-rennes.fr"]
severity = "low"

[[source]]
name = "forum"
kind = "html"
preset = "mybb"
url = "{site.url('/mybb/Forum-Databases')}"
follow = true
'''



@pytest.fixture
def world(site: LoopbackSite, bot: FakeBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEAKMON_TEST_TOKEN", bot.token)
    site.route("/mybb/Forum-Databases", fixture("privacy/mybb_listing.html"), headers=HTML)
    site.route("/mybb/Thread-CHU-de-Rennes-patients-758k", fixture("privacy/mybb_thread_7001.html"),
               headers={**HTML, "Set-Cookie": "mybbuser=secret-session; path=/", "X-Served-By": "loopback"})
    site.route("/mybb/Thread-CHU-de-Rennes-order-list", fixture("privacy/mybb_thread_7002.html"),
               headers=HTML)
    config = tmp_path / "config.toml"
    config.write_text(config_text(site, tmp_path / "leakmon.db", bot), encoding="utf-8")
    return config


def cli(config: Path, *args: str):
    return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)


def test_the_alert_is_masked_and_carries_the_triage_line(world: Path, bot: FakeBot) -> None:
    result = cli(world, "once")
    assert result.exit_code == 0, result.output
    [sample_alert] = [m for m in bot.sent if "patients 758k" in m.text]
    [orders_alert] = [m for m in bot.sent if "supplier orders" in m.text]
    for value in SAMPLE:
        assert value not in sample_alert.text and value not in sample_alert.visible, value
    assert "CHU de Rennes extract: DUPONT;Jean;•••@gmail.com;[phone];[NIR];[IBAN]" in sample_alert.visible
    assert "📊 758,912 records claimed · seen: NIR x" in sample_alert.visible
    assert "claimed: names, DOB, address, insurance, medical" in sample_alert.visible
    assert "HIGH" in sample_alert.visible                   # NIR and medical data: at least high
    # the same kinds of values with wrong checksums are order references: left as they are
    for value in WRONG:
        assert value in orders_alert.visible, value
    assert "LOW" in orders_alert.visible and "no record count" in orders_alert.visible

    rows = json.loads(cli(world, "hits", "--format", "json").stdout)
    sample_row = next(r for r in rows if "758k" in r["title"])
    assert sample_row["records"] == 758_912 and sample_row["severity"] == "high"
    assert {"NIR", "IBAN", "card", "e-mail", "phone", "names", "medical"} <= set(sample_row["data"])
    exported = cli(world, "export", "--format", "csv").stdout + cli(world, "export", "--format", "stix").stdout
    for value in SAMPLE:
        assert value not in json.dumps(rows, ensure_ascii=False) and value not in exported, value
    unmasked = json.loads(cli(world, "hits", "--format", "json", "--no-mask").stdout)
    assert any("jean.dupont@gmail.com" in r["snippet"] or "06 12 34 56 78" in r["snippet"] for r in unmasked)


def test_prune_erases_the_text_for_real_and_keeps_the_hits(world: Path, site: LoopbackSite, bot: FakeBot,
                                                          tmp_path: Path) -> None:
    assert cli(world, "once").exit_code == 0
    db = tmp_path / "leakmon.db"
    assert "CHU de Rennes" in cli(world, "search", BODY_ONLY_WORD).output
    world.write_text(config_text(site, db, bot, keep="1s"), encoding="utf-8")
    time.sleep(1.2)
    result = cli(world, "prune")
    assert result.exit_code == 0, result.output
    assert "prune: 2 post texts erased, 4 evidence pages deleted" in result.output
    files = [db, Path(f"{db}-wal")]
    raw = b"".join(p.read_bytes() for p in files if p.exists())
    # the FTS index holds words folded to lower case: look for those too
    for value in [*SAMPLE, BODY_ONLY_WORD, BODY_ONLY_WORD.lower(), "jean.dupont", "dupont", "Price in XMR"]:
        assert value.encode() not in raw, value
    assert "no stored post matches" in cli(world, "search", BODY_ONLY_WORD).output
    rows = json.loads(cli(world, "hits", "--format", "json").stdout)
    assert len(rows) == 2
    sample_row = next(r for r in rows if "758k" in r["title"])
    assert sample_row["records"] == 758_912 and "NIR" in sample_row["data"]      # the triage outlives the text
    assert "CHU de Rennes" in sample_row["snippet"] and "•••@gmail.com" in sample_row["snippet"]
    assert "prune: 0 post texts erased" in cli(world, "prune").output


def test_evidence_is_a_warc_that_warcio_reads_back(world: Path, site: LoopbackSite, tmp_path: Path) -> None:
    assert cli(world, "once").exit_code == 0
    rows = json.loads(cli(world, "hits", "--format", "json").stdout)
    hit = next(r for r in rows if "758k" in r["title"])
    out = tmp_path / "evidence.warc.gz"
    result = cli(world, "evidence", str(hit["id"]), "--out", str(out))
    assert result.exit_code == 0, result.output
    served = {site.url("/mybb/Forum-Databases"): fixture("privacy/mybb_listing.html"),
              site.url("/mybb/Thread-CHU-de-Rennes-patients-758k"): fixture("privacy/mybb_thread_7001.html")}
    seen = {}
    with out.open("rb") as stream:
        for record in ArchiveIterator(stream, check_digests=True):
            if record.rec_type != "response":
                continue
            uri = record.rec_headers.get_header("WARC-Target-URI")
            body = record.content_stream().read()
            digest = "sha256:" + base64.b32encode(hashlib.sha256(served[uri]).digest()).decode()
            assert record.rec_headers.get_header("WARC-Payload-Digest") == digest
            assert body == served[uri]                                   # never masked: the proof
            assert record.rec_headers.get_header("WARC-Date")
            assert record.http_headers.get_header("Set-Cookie") is None
            seen[uri] = record.http_headers.get_statuscode()
    assert seen == dict.fromkeys(served, "200")
    assert cli(world, "evidence", "999", "--out", str(out)).exit_code == 2       # no such hit
