"""config.toml -> typed, frozen config objects.

Every mistake raises :class:`ConfigError` naming the file, the key path and the problem, e.g.
``config.toml: source[2].interval: "5x" is not a duration``. Array tables are indexed from 0
as in the file (``source[0]`` is the first ``[[source]]``).
"""

from __future__ import annotations

import csv
import gc
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from monitor.errors import ConfigError
from monitor.hosts import host_of, is_onion
from monitor.redaction import redact, remember_secret
from monitor.sourceconfig import SourceConfig
from monitor.userregex import UserRegexError, compile_user_regex
from sources import KINDS, make_options

SEVERITIES = ("low", "medium", "high", "critical")
SOURCE_KINDS = tuple(KINDS)
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.I)
_SIZE_UNITS = {"b": 1, "kb": 10**3, "kib": 2**10, "mb": 10**6, "mib": 2**20, "gb": 10**9, "gib": 2**30}
CONSOLE_CHAT = "console"          # the pseudo chat of a config without [telegram.chats]
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HAS_ALNUM = re.compile(r"[^\W_]")        # a letter or digit: what str.isalnum() accepts


@dataclass(frozen=True)
class StorageConfig:
    path: str = "leakmon.db"
    retention_days: int = 365


@dataclass(frozen=True)
class PrivacyConfig:
    mask: bool = True                # personal data masked in alerts, bot replies, hits and exports
    keep_text: float = 30 * 86400.0  # seconds: post text older than this is erased
    keep_evidence: float = 90 * 86400.0   # seconds: raw pages of items that hit are kept this long


@dataclass(frozen=True)
class NetworkConfig:
    user_agent: str = DEFAULT_USER_AGENT
    timeout: float = 30.0            # seconds, whole request
    max_bytes: int = 10_000_000
    tor_proxy: str = "socks5h://127.0.0.1:9050"
    concurrency: int = 8
    host_delay: float = 1.0          # seconds between two requests to one host
    max_redirects: int = 5


@dataclass(frozen=True)
class HealthConfig:
    failure_threshold: int = 3
    retrohunt_days: int = 30


@dataclass(frozen=True)
class TelegramConfig:
    token_env: str = "LEAKMON_TELEGRAM_TOKEN"
    api_url: str = "https://api.telegram.org"
    commands: bool = False
    default_chats: tuple[str, ...] = ()
    health_chats: tuple[str, ...] = ()
    chats: Mapping[str, int | str] = field(default_factory=dict)

    def token(self) -> str | None:
        """The bot token from the environment, or None when unset or empty."""
        value = os.environ.get(self.token_env, "").strip()
        remember_secret(value)
        return value or None


@dataclass(frozen=True)
class MetricsConfig:
    listen: str = ""


@dataclass(frozen=True)
class WatchEntry:
    """One watched name: its terms, filters and routing. ``chats`` is already resolved."""

    name: str
    kind: str = "other"
    terms: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    severity: str = "medium"
    chats: tuple[str, ...] = ()
    strict: bool = False

    def matching_key(self) -> tuple:
        """What decides what the entry matches: a change here calls for a retro-hunt."""
        return (self.terms, self.regex, self.exclude, self.requires, self.strict)


@dataclass(frozen=True)
class WatchFile:
    path: str
    name_column: str
    terms_columns: tuple[str, ...]
    kind: str = "other"
    severity: str = "medium"
    chats: tuple[str, ...] = ()
    strict: bool = False
    separator: str = "|"             # several aliases in one cell


@dataclass(frozen=True)
class Config:
    file: str
    storage: StorageConfig = field(default_factory=StorageConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    watches: tuple[WatchEntry, ...] = ()
    watch_files: tuple[WatchFile, ...] = ()
    sources: tuple[SourceConfig, ...] = ()
    #: Every other file the config read (each ``[[watch_file]]``, resolved): an edit of any of
    #: them changes the config as much as an edit of the config file itself.
    files: tuple[str, ...] = ()

    def source(self, name: str) -> SourceConfig:
        for src in self.sources:
            if src.name == name:
                return src
        raise KeyError(name)


# ---------------------------------------------------------------- value parsers

def parse_duration(value: object) -> float:
    """``"30s"``, ``"10m"``, ``"2h"``, ``"1d"`` (or a number of seconds) -> seconds. ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"{value!r} is not a duration")
        return float(value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    raise ValueError(f"{_show(value)} is not a duration (use 30s, 10m, 2h or 1d)")


def parse_size(value: object) -> int:
    """``10_000_000``, ``"10MB"``, ``"512KiB"`` -> bytes. ValueError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str):
        m = _SIZE.match(value)
        if m:
            return int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()])
    raise ValueError(f"{_show(value)} is not a size (use a number of bytes or e.g. \"10MB\")")


def _show(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    return repr(value)


# ---------------------------------------------------------------- the reader

class _Reader:
    """Reads one table, checking types and unknown keys, naming the key path on error."""

    def __init__(self, file: str, path: str, table: object) -> None:
        self.file = file
        self.path = path
        if not isinstance(table, dict):
            self.fail("", f"must be a table, not {_type_name(table)}")
        self.table: dict[str, Any] = table  # type: ignore[assignment]

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str, problem: str) -> None:
        raise ConfigError(self.file, self.key(name) if name else self.path, problem)

    def only(self, allowed: tuple[str, ...]) -> None:
        for name in self.table:
            if name not in allowed:
                self.fail(name, f"unknown key (expected one of: {', '.join(allowed)})")

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = None, *, required: bool = False) -> Any:
        if name not in self.table:
            if required:
                self.fail(name, "is required")
            return default
        value = self.table[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            wanted = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            self.fail(name, f"must be {wanted}, not {_type_name(value)} {_show(value)}")
        return value

    def text(self, name: str, default: str | None = None, *, required: bool = False, nonempty: bool = True) -> Any:
        value = self.get(name, str, default, required=required)
        if value is not None and nonempty and name in self.table and not value.strip():
            self.fail(name, "must not be empty")
        return value

    def strings(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.get(name, list, None)
        if value is None:
            return default
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.fail(f"{name}[{i}]", f"must be a string, not {_type_name(item)} {_show(item)}")
            if not item.strip():
                self.fail(f"{name}[{i}]", "must not be empty")
            out.append(item)
        return tuple(out)

    def positive_int(self, name: str, default: int, *, minimum: int = 1) -> int:
        value = self.get(name, int, default)
        if value < minimum:
            self.fail(name, f"must be at least {minimum}, not {value}")
        return value

    def duration(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        if name not in self.table:
            return default
        try:
            seconds = parse_duration(self.table[name])
        except ValueError as exc:
            self.fail(name, str(exc))
        if seconds < minimum:
            self.fail(name, f"{_show(self.table[name])} is shorter than the minimum of {minimum:g}s")
        return seconds

    def size(self, name: str, default: int) -> int:
        if name not in self.table:
            return default
        try:
            return parse_size(self.table[name])
        except ValueError as exc:
            self.fail(name, str(exc))
            raise

    def string_map(self, name: str) -> dict[str, str]:
        value = self.get(name, dict, None)
        if value is None:
            return {}
        for k, v in value.items():
            if not isinstance(v, str):
                self.fail(f"{name}.{k}", f"must be a string, not {_type_name(v)} {_show(v)}")
        return dict(value)

    def sub(self, name: str) -> "_Reader":
        return _Reader(self.file, self.key(name), self.table.get(name, {}))


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               list: "a list", dict: "a table"}


def _type_name(value: object) -> str:
    for kind, name in ((bool, "true/false"), (str, "a string"), (int, "an integer"),
                       (float, "a number"), (list, "a list"), (dict, "a table")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


# ---------------------------------------------------------------- sections

def _storage(r: _Reader) -> StorageConfig:
    r.only(("path", "retention_days"))
    return StorageConfig(path=r.text("path", "leakmon.db"),
                         retention_days=r.positive_int("retention_days", 365))


def _privacy(r: _Reader, storage: _Reader) -> PrivacyConfig:
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


def _network(r: _Reader) -> NetworkConfig:
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


def _check_proxy_url(r: _Reader, name: str, url: str) -> None:
    if not re.match(r"^(socks5h?|socks4a?|https?)://[^/\s]+/?$", url):
        r.fail(name, f"{_show(url)} is not a proxy URL (e.g. socks5h://127.0.0.1:9050)")


def _health(r: _Reader) -> HealthConfig:
    r.only(("failure_threshold", "retrohunt_days"))
    return HealthConfig(failure_threshold=r.positive_int("failure_threshold", 3),
                        retrohunt_days=r.positive_int("retrohunt_days", 30, minimum=0))


def _telegram(r: _Reader) -> TelegramConfig:
    r.only(("token_env", "api_url", "commands", "default_chats", "health_chats", "chats"))
    token_env = r.text("token_env", TelegramConfig.token_env)
    if not _ENV_NAME.match(token_env):
        # never echo the value: an operator may have pasted the token itself here
        r.fail("token_env", "must name an environment variable (e.g. LEAKMON_TELEGRAM_TOKEN); "
                            "the token itself never goes in the file")
    api_url = r.text("api_url", TelegramConfig.api_url).rstrip("/")
    if not re.match(r"^https?://[^/\s]+", api_url):
        r.fail("api_url", f"{_show(api_url)} is not an http(s) URL")
    chats_r = r.sub("chats")
    chats: dict[str, int | str] = {}
    for name, value in chats_r.table.items():
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            chats_r.fail(name, f"must be a chat id (a number) or \"@channel\", not {_type_name(value)}")
        if isinstance(value, str):
            if re.match(r"^-?\d+$", value.strip()):
                value = int(value)
            elif not re.match(r"^@[A-Za-z][A-Za-z0-9_]{3,}$", value):
                chats_r.fail(name, f"{_show(value)} is not a chat id (a number) or \"@channel\"")
        chats[name] = value
    default_chats = r.strings("default_chats")
    health_chats = r.strings("health_chats")
    for key, names in (("default_chats", default_chats), ("health_chats", health_chats)):
        for i, chat in enumerate(names):
            if chat not in chats:
                r.fail(f"{key}[{i}]", f"chat {_show(chat)} is not defined in [telegram.chats]")
    if not chats:
        # No chat at all: alerts go to the console, so every entry and health message routes there.
        default_chats = health_chats = (CONSOLE_CHAT,)
    return TelegramConfig(token_env=token_env, api_url=api_url, commands=r.get("commands", bool, False),
                          default_chats=default_chats, health_chats=health_chats, chats=chats)


def _chats(r: _Reader, telegram: TelegramConfig) -> tuple[str, ...]:
    if "chats" not in r.table:
        return telegram.default_chats
    chats = r.strings("chats")
    for i, chat in enumerate(chats):
        if chat not in telegram.chats:
            r.fail(f"chats[{i}]", f"chat {_show(chat)} is not defined in [telegram.chats]")
    return chats


def _severity(r: _Reader) -> str:
    severity = r.text("severity", "medium")
    if severity not in SEVERITIES:
        r.fail("severity", f"{_show(severity)} is not one of {', '.join(SEVERITIES)}")
    return severity


def _watch(r: _Reader, telegram: TelegramConfig) -> WatchEntry:
    r.only(("name", "kind", "terms", "regex", "exclude", "requires", "severity", "chats", "strict"))
    name = r.text("name", required=True)
    terms = r.strings("terms")
    regex = r.strings("regex")
    for i, pattern in enumerate(regex):
        try:
            compile_user_regex(pattern)
        except UserRegexError as exc:
            r.fail(f"regex[{i}]", f"{_show(pattern)} is not a valid regular expression: {exc}")
    if not terms and not regex:
        r.fail("terms", "a watch entry needs at least one term or regex")
    for key in ("terms", "exclude", "requires"):
        for i, term in enumerate(r.strings(key)):
            if not any(ch.isalnum() for ch in term):
                r.fail(f"{key}[{i}]", f"{_show(term)} has no letter or digit to match")
    return WatchEntry(name=name, kind=r.text("kind", "other"), terms=terms, regex=regex,
                      exclude=r.strings("exclude"), requires=r.strings("requires"),
                      severity=_severity(r), chats=_chats(r, telegram), strict=r.get("strict", bool, False))


def _watch_file(r: _Reader, telegram: TelegramConfig, base: Path) -> tuple[WatchFile, list[WatchEntry], str]:
    """One ``[[watch_file]]``: its spec, its entries, and the path of the file it read."""
    r.only(("path", "name_column", "terms_columns", "kind", "severity", "chats", "strict", "separator"))
    spec = WatchFile(path=r.text("path", required=True), name_column=r.text("name_column", "name"),
                     terms_columns=r.strings("terms_columns") or (r.text("name_column", "name"),),
                     kind=r.text("kind", "other"), severity=_severity(r), chats=_chats(r, telegram),
                     strict=r.get("strict", bool, False), separator=r.text("separator", "|"))
    path = Path(spec.path).expanduser()
    if not path.is_absolute():
        path = base / path
    from monitor import watchfilecache

    cached = watchfilecache.load(path, spec)
    if cached is not None:
        was_enabled = gc.isenabled()
        gc.disable()         # 100,000 new objects, none in a cycle: no collection pass is worth it
        try:
            return spec, [WatchEntry(name=name, kind=spec.kind, terms=terms, severity=spec.severity,
                                     chats=spec.chats, strict=spec.strict) for name, terms in cached], str(path)
        finally:
            if was_enabled:
                gc.enable()
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        r.fail("path", f"cannot read {_show(str(path))}: {exc.strerror or exc}")
        raise
    # A national registry has 100,000 rows: csv.reader with column positions (not DictReader),
    # a C regex for "has a letter or digit", and the cyclic GC paused (the rows and terms are
    # plain strings, lists and tuples: no cycles) keep this to a fraction of a second.
    merged: dict[str, list[str]] = {}
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with handle:
            try:
                reader = csv.reader(handle)
                columns = next(reader, None) or []
                for col in (spec.name_column, *spec.terms_columns):
                    if col not in columns:
                        r.fail("name_column" if col == spec.name_column else "terms_columns",
                               f"{_show(str(path))} has no column {_show(col)} (columns: {', '.join(columns)})")
                # a repeated column name means its last column, as with csv.DictReader
                last = {col: at for at, col in enumerate(columns)}
                name_at = last[spec.name_column]
                term_at = [last[col] for col in spec.terms_columns]
                width = max(name_at, *term_at) + 1
                separator = spec.separator
                has_alnum = _HAS_ALNUM.search
                for row in reader:
                    if len(row) < width:
                        row += [""] * (width - len(row))     # a short row: its missing cells are empty
                    name = row[name_at].strip()
                    if not name:
                        continue
                    terms = merged.get(name)
                    if terms is None:
                        terms = merged[name] = []
                    for at in term_at:
                        cell = row[at]
                        if not cell:
                            continue
                        for term in cell.split(separator) if separator in cell else (cell,):
                            term = term.strip()
                            if term and term not in terms and has_alnum(term):
                                # the name cell's own string when equal: one object, not two
                                terms.append(name if term == name else term)
            except (csv.Error, UnicodeDecodeError) as exc:
                r.fail("path", f"{_show(str(path))} is not a readable UTF-8 CSV file: {exc}")
        entries = [WatchEntry(name=name, kind=spec.kind, terms=tuple(terms), severity=spec.severity,
                              chats=spec.chats, strict=spec.strict)
                   for name, terms in merged.items() if terms]
    finally:
        if was_enabled:
            gc.enable()
    watchfilecache.save(path, spec, [(e.name, e.terms) for e in entries])
    return spec, entries, str(path)


_SOURCE_KEYS = ("name", "kind", "url", "interval", "proxy", "follow", "pages", "cookies_env", "headers",
                "preset", "selectors", "items", "fields")


def _source(r: _Reader, network: NetworkConfig) -> SourceConfig:
    r.only(_SOURCE_KEYS)
    name = r.text("name", required=True)
    kind = r.text("kind", required=True)
    if kind not in SOURCE_KINDS:
        r.fail("kind", f"{_show(kind)} is not a source kind ({', '.join(SOURCE_KINDS)})")
    url = r.text("url", required=True)
    if not re.match(r"^https?://[^/\s]+", url):
        r.fail("url", f"{_show(redact(url))} is not an http(s) URL")
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
        r.fail("url", f"{_show(redact(url))} has no readable host name")
    if is_onion(host) and proxy is None:
        # a direct fetch would ask the local DNS resolver for the .onion name: a leak
        r.fail("proxy", f"{_show(redact(url))} is an .onion address: set proxy = \"tor\"")
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
    top = _Reader(file, "", data)
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
        metrics_r.fail("listen", f"{_show(listen)} is not host:port (e.g. \"127.0.0.1:9108\")")
    metrics = MetricsConfig(listen=listen)

    watches: list[WatchEntry] = []
    names: dict[str, str] = {}
    for i, table in enumerate(_array(top, "watch")):
        r = _Reader(file, f"watch[{i}]", table)
        entry = _watch(r, telegram)
        if entry.name in names:
            r.fail("name", f"duplicate watch name {_show(entry.name)} (also {names[entry.name]})")
        names[entry.name] = f"watch[{i}]"
        watches.append(entry)
    watch_files = []
    files: list[str] = []
    for i, table in enumerate(_array(top, "watch_file")):
        r = _Reader(file, f"watch_file[{i}]", table)
        spec, entries, read = _watch_file(r, telegram, base)
        watch_files.append(spec)
        files.append(read)
        for entry in entries:
            if entry.name in names:
                r.fail("path", f"{_show(spec.path)} repeats the watch name {_show(entry.name)} "
                               f"(also {names[entry.name]})")
            names[entry.name] = f"watch_file[{i}]"
            watches.append(entry)

    sources: list[SourceConfig] = []
    seen: dict[str, int] = {}
    for i, table in enumerate(_array(top, "source")):
        r = _Reader(file, f"source[{i}]", table)
        src = _source(r, network)
        if src.name in seen:
            r.fail("name", f"duplicate source name {_show(src.name)} (also source[{seen[src.name]}])")
        seen[src.name] = i
        sources.append(src)
    return Config(file=file, storage=storage, privacy=privacy, network=network, health=health, telegram=telegram,
                  metrics=metrics, watches=tuple(watches), watch_files=tuple(watch_files),
                  sources=tuple(_with_options(file, sources)), files=tuple(dict.fromkeys(files)))


def _array(top: _Reader, name: str) -> list[Any]:
    value = top.table.get(name, [])
    if not isinstance(value, list):
        top.fail(name, f"must be an array of tables ([[{name}]]), not {_type_name(value)}")
    return value


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
