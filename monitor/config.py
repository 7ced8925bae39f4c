"""config.toml -> typed, frozen config objects (defined in ``monitor/configtypes.py``).

Every mistake raises :class:`ConfigError` naming the file, the key path and the problem, e.g.
``config.toml: source[2].interval: "5x" is not a duration``. Array tables are indexed from 0
as in the file (``source[0]`` is the first ``[[source]]``).
"""

from __future__ import annotations

import hashlib
import marshal
import os
import re
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from monitor.configreader import Reader, parse_duration, parse_size, show_value, type_name
from monitor.configtypes import (
    CONSOLE_CHAT,
    DEFAULT_USER_AGENT,
    SEVERITIES,
    Config,
    HealthConfig,
    MetricsConfig,
    NetworkConfig,
    PrivacyConfig,
    StorageConfig,
    TelegramConfig,
    WatchEntry,
    WatchFile,
)
from monitor.errors import ConfigError
from monitor.hosts import host_of, is_onion
from monitor.redaction import redact
from monitor.sourceconfig import SourceConfig
from monitor.watchconfig import watch_entry, watch_file
from sources import KINDS, make_options

# Callers import the config objects and value parsers from here, as before the split.
__all__ = ["CONSOLE_CHAT", "DEFAULT_USER_AGENT", "SEVERITIES", "SOURCE_KINDS", "Config", "ConfigError",
           "HealthConfig", "MetricsConfig", "NetworkConfig", "PrivacyConfig", "SourceConfig",
           "StorageConfig", "TelegramConfig", "WatchEntry", "WatchFile", "load_config", "parse_config",
           "parse_duration", "parse_size"]

SOURCE_KINDS = tuple(KINDS)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# ---------------------------------------------------------------- sections

def _storage(r: Reader) -> StorageConfig:
    r.only(("path", "retention_days"))
    return StorageConfig(path=r.text("path", "leakmon.db"),
                         retention_days=r.positive_int("retention_days", 365))


def _privacy(r: Reader, storage: Reader) -> PrivacyConfig:
    r.only(("mask", "keep_text", "keep_evidence"))
    keep_text = PrivacyConfig.keep_text
    if "retention_days" in storage.table:
        # the older name of keep_text, still accepted; two values for one rule would be a guess
        if "keep_text" in r.table:
            storage.fail("retention_days", "is the older name of privacy.keep_text: set only keep_text")
        keep_text = storage.positive_int("retention_days", 365) * 86400.0
    return PrivacyConfig(mask=r.get("mask", bool, True),
                         keep_text=r.duration("keep_text", keep_text, minimum=1.0),
                         keep_evidence=r.duration("keep_evidence", PrivacyConfig.keep_evidence, minimum=1.0))


def _network(r: Reader) -> NetworkConfig:
    r.only(("user_agent", "timeout", "max_bytes", "tor_proxy", "concurrency", "host_delay", "max_redirects"))
    tor_proxy = r.text("tor_proxy", NetworkConfig.tor_proxy)
    _check_proxy_url(r, "tor_proxy", tor_proxy)
    return NetworkConfig(
        user_agent=r.text("user_agent", DEFAULT_USER_AGENT),
        timeout=r.duration("timeout", 30.0, minimum=0.1),
        max_bytes=r.size("max_bytes", 10_000_000),
        tor_proxy=tor_proxy,
        concurrency=r.positive_int("concurrency", 8),
        host_delay=r.duration("host_delay", 1.0),
        max_redirects=r.positive_int("max_redirects", 5, minimum=0),
    )


def _check_proxy_url(r: Reader, name: str, url: str) -> None:
    if not re.match(r"^(socks5h?|socks4a?|https?)://[^/\s]+/?$", url):
        r.fail(name, f"{show_value(url)} is not a proxy URL (e.g. socks5h://127.0.0.1:9050)")


def _health(r: Reader) -> HealthConfig:
    r.only(("failure_threshold", "retrohunt_days"))
    return HealthConfig(failure_threshold=r.positive_int("failure_threshold", 3),
                        retrohunt_days=r.positive_int("retrohunt_days", 30, minimum=0))


def _telegram(r: Reader) -> TelegramConfig:
    r.only(("token_env", "api_url", "commands", "default_chats", "health_chats", "chats"))
    token_env = r.text("token_env", TelegramConfig.token_env)
    if not _ENV_NAME.match(token_env):
        # never echo the value: an operator may have pasted the token itself here
        r.fail("token_env", "must name an environment variable (e.g. LEAKMON_TELEGRAM_TOKEN); "
                            "the token itself never goes in the file")
    api_url = r.text("api_url", TelegramConfig.api_url).rstrip("/")
    if not re.match(r"^https?://[^/\s]+", api_url):
        r.fail("api_url", f"{show_value(api_url)} is not an http(s) URL")
    chats_r = r.sub("chats")
    chats: dict[str, int | str] = {}
    for name, value in chats_r.table.items():
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            chats_r.fail(name, f"must be a chat id (a number) or \"@channel\", not {type_name(value)}")
        if isinstance(value, str):
            if re.match(r"^-?\d+$", value.strip()):
                value = int(value)
            elif not re.match(r"^@[A-Za-z][A-Za-z0-9_]{3,}$", value):
                chats_r.fail(name, f"{show_value(value)} is not a chat id (a number) or \"@channel\"")
        chats[name] = value
    default_chats = r.strings("default_chats")
    health_chats = r.strings("health_chats")
    for key, names in (("default_chats", default_chats), ("health_chats", health_chats)):
        for i, chat in enumerate(names):
            if chat not in chats:
                r.fail(f"{key}[{i}]", f"chat {show_value(chat)} is not defined in [telegram.chats]")
    if not chats:
        # No chat at all: alerts go to the console, so every entry and health message routes there.
        default_chats = health_chats = (CONSOLE_CHAT,)
    return TelegramConfig(token_env=token_env, api_url=api_url, commands=r.get("commands", bool, False),
                          default_chats=default_chats, health_chats=health_chats, chats=chats)


_SOURCE_KEYS = ("name", "kind", "url", "interval", "proxy", "follow", "pages", "cookies_env", "headers",
                "preset", "selectors", "items", "fields")


def _source(r: Reader, network: NetworkConfig) -> SourceConfig:
    r.only(_SOURCE_KEYS)
    name = r.text("name", required=True)
    kind = r.text("kind", required=True)
    if kind not in SOURCE_KINDS:
        r.fail("kind", f"{show_value(kind)} is not a source kind ({', '.join(SOURCE_KINDS)})")
    url = r.text("url", required=True)
    if not re.match(r"^https?://[^/\s]+", url):
        r.fail("url", f"{show_value(redact(url))} is not an http(s) URL")
    proxy_value = r.text("proxy", "none")
    if proxy_value == "none":
        proxy = None
    elif proxy_value == "tor":
        proxy = network.tor_proxy
    else:
        _check_proxy_url(r, "proxy", proxy_value)
        proxy = proxy_value
    host = host_of(url)
    if host is None:
        r.fail("url", f"{show_value(redact(url))} has no readable host name")
    if is_onion(host) and proxy is None:
        # a direct fetch would ask the local DNS resolver for the .onion name: a leak
        r.fail("proxy", f"{show_value(redact(url))} is an .onion address: set proxy = \"tor\"")
    cookies_env = r.text("cookies_env")
    if cookies_env is not None and not _ENV_NAME.match(cookies_env):
        r.fail("cookies_env", "must name an environment variable (e.g. BF_COOKIES); "
                              "the cookies themselves never go in the file")
    src = SourceConfig(
        name=name, kind=kind, url=url, interval=r.duration("interval", 600.0, minimum=1.0),
        proxy=proxy, follow=r.get("follow", bool, False), pages=r.positive_int("pages", 1),
        cookies_env=cookies_env, headers=r.string_map("headers"), preset=r.text("preset"),
        selectors=r.string_map("selectors"), items=r.get("items", str, None), fields=r.string_map("fields"),
    )
    return src


def _with_options(file: str, sources: list[SourceConfig]) -> list[SourceConfig]:
    """The one step after the file is read: each source kind checks its own keys and builds its
    typed Options (``sources.make_options``); an error names the file and key path."""
    built = []
    for i, src in enumerate(sources):
        try:
            options = make_options(src)
        except ConfigError as exc:
            path = f"source[{i}]"
            raise ConfigError(file, f"{path}.{exc.key}" if exc.key else path, exc.problem) from None
        built.append(replace(src, options=options))
    return built


# ---------------------------------------------------------------- entry points

def parse_config(data: dict[str, Any], file: str, base: Path | None = None) -> Config:
    """Build a Config from parsed TOML. ``file`` names the file in error messages."""
    top = Reader(file, "", data)
    top.only(("storage", "privacy", "network", "health", "telegram", "metrics", "watch", "watch_file", "source"))
    base = base or Path(".")
    storage = _storage(top.sub("storage"))
    privacy = _privacy(top.sub("privacy"), top.sub("storage"))
    network = _network(top.sub("network"))
    health = _health(top.sub("health"))
    telegram = _telegram(top.sub("telegram"))
    metrics_r = top.sub("metrics")
    metrics_r.only(("listen",))
    listen = metrics_r.get("listen", str, "")
    if listen and not re.match(r"^[\w.\-\[\]:]*:\d{1,5}$", listen):
        metrics_r.fail("listen", f"{show_value(listen)} is not host:port (e.g. \"127.0.0.1:9108\")")
    metrics = MetricsConfig(listen=listen)

    watches: list[WatchEntry] = []
    names: dict[str, str] = {}
    for i, table in enumerate(_array(top, "watch")):
        r = Reader(file, f"watch[{i}]", table)
        entry = watch_entry(r, telegram)
        if entry.name in names:
            r.fail("name", f"duplicate watch name {show_value(entry.name)} (also {names[entry.name]})")
        names[entry.name] = f"watch[{i}]"
        watches.append(entry)
    # What decides the entries, hashed as they are read: the inline entries' matching fields,
    # then each watch file's content digest and strictness (the matcher's compiled-list cache
    # key, without hashing 100,000 entries again at each start).
    decided: list[Any] = [(e.name, e.terms, e.exclude, e.requires, e.strict) for e in watches]
    watch_files = []
    files: list[str] = []
    for i, table in enumerate(_array(top, "watch_file")):
        r = Reader(file, f"watch_file[{i}]", table)
        spec, entries, read, content = watch_file(r, telegram, base)
        watch_files.append(spec)
        files.append(read)
        decided.append(("watch_file", content, spec.strict))
        label = f"watch_file[{i}]"
        added = dict.fromkeys([entry.name for entry in entries], label)
        # One C-level check for 100,000 names; the loop below only runs to name the repeat.
        if len(added) != len(entries) or not names.keys().isdisjoint(added):
            for entry in entries:
                if entry.name in names:
                    r.fail("path", f"{show_value(spec.path)} repeats the watch name {show_value(entry.name)} "
                                   f"(also {names[entry.name]})")
                names[entry.name] = label
        names.update(added)
        watches.extend(entries)

    sources: list[SourceConfig] = []
    seen: dict[str, int] = {}
    for i, table in enumerate(_array(top, "source")):
        r = Reader(file, f"source[{i}]", table)
        src = _source(r, network)
        if src.name in seen:
            r.fail("name", f"duplicate source name {show_value(src.name)} (also source[{seen[src.name]}])")
        seen[src.name] = i
        sources.append(src)
    listed = tuple(watches)
    digest = hashlib.sha256(marshal.dumps(decided, 2)).hexdigest()
    return Config(file=file, storage=storage, privacy=privacy, network=network, health=health, telegram=telegram,
                  metrics=metrics, watches=listed, watch_files=tuple(watch_files),
                  sources=tuple(_with_options(file, sources)), files=tuple(dict.fromkeys(files)),
                  digest_of_watches=(listed, digest))


def _array(top: Reader, name: str) -> list[Any]:
    value = top.table.get(name, [])
    if not isinstance(value, list):
        top.fail(name, f"must be an array of tables ([[{name}]]), not {type_name(value)}")
    return list(value)


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and check a config file. Raises ConfigError naming the file, key path and problem."""
    p = Path(path)
    file = str(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(file, "", f"cannot read the config file: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(file, "", "is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "", f"invalid TOML: {exc}") from None
    return parse_config(data, file, p.resolve().parent)
