"""Config: the whole schema parses, and every mistake names the file, the key path and the problem."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor.config import load_config, parse_duration, parse_size
from monitor.errors import ConfigError

BASE = """
[telegram]
default_chats = ["soc"]
health_chats = ["ops"]
[telegram.chats]
soc = -1001234567890
ops = "@leakmon_ops"

[[watch]]
name = "Mediboard"
kind = "software"
terms = ["Mediboard", "OX Softway"]
regex = ['medi[\\s_-]?board']
severity = "high"

[[source]]
name = "zataz"
kind = "rss"
url = "https://www.zataz.com/feed/"
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return str(info.value)


def test_full_schema_parses(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "est.csv").write_text(
        "name,alias,domain\nCHU de Rennes,CHU Rennes|Pontchaillou,chu-rennes.fr\n"
        "Clinique Saint-Joseph,,clinique-st-joseph.fr\n,,\n", encoding="utf-8")
    path = write(tmp_path, BASE + """
    [storage]
    path = "x.db"
    retention_days = 30
    [network]
    timeout = "45s"
    max_bytes = "5MB"
    concurrency = 4
    host_delay = "500ms"
    [health]
    failure_threshold = 5
    retrohunt_days = 7
    [metrics]
    listen = "127.0.0.1:9108"

    [[watch_file]]
    path = "lists/est.csv"
    name_column = "name"
    terms_columns = ["name", "alias", "domain"]
    kind = "establishment"
    severity = "medium"

    [[source]]
    name = "forum"
    kind = "html"
    preset = "mybb"
    url = "http://leakforumabcdefgh.onion/Forum-Databases"
    interval = "10m"
    proxy = "tor"
    follow = true
    pages = 2
    cookies_env = "BF_COOKIES"
    headers = { "Accept-Language" = "en" }
    [source.selectors]
    body = "div.post_body"
    """)
    config = load_config(path)
    assert config.network.timeout == 45 and config.network.max_bytes == 5_000_000
    assert config.network.host_delay == 0.5
    assert config.telegram.chats == {"soc": -1001234567890, "ops": "@leakmon_ops"}
    names = [w.name for w in config.watches]
    assert names == ["Mediboard", "CHU de Rennes", "Clinique Saint-Joseph"]
    chu = config.watches[1]
    assert chu.terms == ("CHU de Rennes", "CHU Rennes", "Pontchaillou", "chu-rennes.fr")
    assert chu.chats == ("soc",) and chu.kind == "establishment"
    forum = config.source("forum")
    assert forum.proxy == "socks5h://127.0.0.1:9050" and forum.follow and forum.pages == 2
    assert forum.interval == 600


@pytest.mark.parametrize("snippet, expected", [
    # 1. a bad duration, named with its array index
    ('[[source]]\nname="b"\nkind="rss"\nurl="https://a.example/feed"\ninterval="5x"\n',
     'config.toml: source[1].interval: "5x" is not a duration'),
    # 2. an unknown key
    ('[network]\ntimeut = "3s"\n', "config.toml: network.timeut: unknown key"),
    # 3. a wrong type
    ('[network]\nconcurrency = "eight"\n', 'config.toml: network.concurrency: must be an integer, not a string "eight"'),
    # 4. a duplicate source name
    ('[[source]]\nname="zataz"\nkind="rss"\nurl="https://b.example/feed"\n',
     'config.toml: source[1].name: duplicate source name "zataz"'),
    # 5. a duplicate watch name
    ('[[watch]]\nname="Mediboard"\nterms=["x y"]\n', 'config.toml: watch[1].name: duplicate watch name "Mediboard"'),
    # 6. a chat that [telegram.chats] lacks
    ('[[watch]]\nname="CHU"\nterms=["CHU de Rennes"]\nchats=["cert"]\n',
     'config.toml: watch[1].chats[0]: chat "cert" is not defined in [telegram.chats]'),
    # 7. an unreadable watch file
    ('[[watch_file]]\npath="missing.csv"\nname_column="name"\n', "config.toml: watch_file[0].path: cannot read"),
    # 8. an unknown source kind
    ('[[source]]\nname="b"\nkind="ftp"\nurl="https://a.example/"\n', 'config.toml: source[1].kind: "ftp" is not a source kind'),
    # 9. a bad severity
    ('[[watch]]\nname="X"\nterms=["x"]\nseverity="urgent"\n', 'config.toml: watch[1].severity: "urgent" is not one of'),
    # 10. an invalid regex
    ('[[watch]]\nname="X"\nregex=["medi(board"]\n', 'config.toml: watch[1].regex[0]: "medi(board" is not a valid regular expression'),
    # 11. an .onion URL without a proxy
    ('[[source]]\nname="b"\nkind="rss"\nurl="http://abcdefgh.onion/feed"\n', "config.toml: source[1].proxy: "),
    # 13. a watch entry with nothing to match
    ('[[watch]]\nname="X"\n', "config.toml: watch[1].terms: a watch entry needs at least one term or regex"),
    # 14. a source without url
    ('[[source]]\nname="b"\nkind="rss"\n', "config.toml: source[1].url: is required"),
    # 15. a bad size
    ('[network]\nmax_bytes = "lots"\n', 'config.toml: network.max_bytes: "lots" is not a size'),
    # 16. a metrics address without a port
    ('[metrics]\nlisten = "localhost"\n', 'config.toml: metrics.listen: "localhost" is not host:port'),
])
def test_mistakes_name_file_key_and_problem(tmp_path: Path, snippet: str, expected: str) -> None:
    assert expected in error_of(tmp_path, BASE + "\n" + snippet)


def test_a_token_pasted_as_token_env_is_not_echoed(tmp_path: Path) -> None:
    secret = "123456789:AAHfakeTokenValueThatMustNotLeak"
    message = error_of(tmp_path, BASE.replace("[telegram]\n", f'[telegram]\ntoken_env = "{secret}"\n', 1))
    assert "config.toml: telegram.token_env: must name an environment variable" in message
    assert secret not in message


def test_a_watch_that_is_not_an_array_of_tables(tmp_path: Path) -> None:
    assert "config.toml: watch: must be an array of tables" in error_of(tmp_path, 'watch = "x"\n[[source]]\nname = "z"\nkind = "rss"\nurl = "https://a.example/"\n')


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[network\ntimeout = 3\n")
    assert "config.toml: invalid TOML" in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.toml: cannot read"):
        load_config(tmp_path / "nope.toml")


def test_health_chat_must_exist(tmp_path: Path) -> None:
    text = BASE.replace('health_chats = ["ops"]', 'health_chats = ["pager"]')
    assert 'config.toml: telegram.health_chats[0]: chat "pager" is not defined' in error_of(tmp_path, text)


def test_duration_and_size_parsers() -> None:
    assert parse_duration("30s") == 30 and parse_duration("10m") == 600
    assert parse_duration("2h") == 7200 and parse_duration("1d") == 86400
    assert parse_duration(5) == 5.0
    for bad in ("5x", "", "m", "-3s", True):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert parse_size(10_000_000) == 10_000_000 and parse_size("10MB") == 10_000_000
    assert parse_size("1KiB") == 1024
    with pytest.raises(ValueError):
        parse_size("lots")


def test_watch_file_merges_repeated_names_and_rejects_missing_column(tmp_path: Path) -> None:
    (tmp_path / "w.csv").write_text("name,alias\nCH Annecy,CHANGE\nCH Annecy,Hôpital d'Annecy\n", encoding="utf-8")
    config = load_config(write(tmp_path, BASE + '[[watch_file]]\npath="w.csv"\nterms_columns=["name","alias"]\n'))
    assert config.watches[-1].terms == ("CH Annecy", "CHANGE", "Hôpital d'Annecy")
    message = error_of(tmp_path, BASE + '[[watch_file]]\npath="w.csv"\nterms_columns=["name","domain"]\n')
    assert 'watch_file[0].terms_columns' in message and 'no column "domain"' in message


def test_shipped_config_parses() -> None:
    config = load_config(Path(__file__).parent.parent / "config.toml")
    assert config.sources and config.watches


def test_a_watch_file_name_repeating_another_entry_is_named(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("name\nCH Annecy\nCHU Rennes\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("name\nClinique Sud\nCHU Rennes\n", encoding="utf-8")
    (tmp_path / "c.csv").write_text("name\nMediboard\n", encoding="utf-8")
    config = load_config(write(tmp_path, BASE + '[[watch_file]]\npath="a.csv"\n'))
    assert [w.name for w in config.watches][-2:] == ["CH Annecy", "CHU Rennes"]
    message = error_of(tmp_path, BASE + '[[watch_file]]\npath="a.csv"\n[[watch_file]]\npath="b.csv"\n')
    assert message.endswith('config.toml: watch_file[1].path: "b.csv" repeats the watch name "CHU Rennes" '
                            '(also watch_file[0])')
    message = error_of(tmp_path, BASE + '[[watch_file]]\npath="c.csv"\n')
    assert message.endswith('config.toml: watch_file[0].path: "c.csv" repeats the watch name "Mediboard" (also watch[0])')
