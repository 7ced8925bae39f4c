"""The typed, frozen config objects that ``monitor/config.py`` builds from config.toml.

They live apart from the TOML reader so that modules needing only their shapes (the fetcher,
the senders) import neither the reader nor, through it, the source kinds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from monitor.redaction import remember_secret
from monitor.sourceconfig import SourceConfig

SEVERITIES = ("low", "medium", "high", "critical")
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
)
CONSOLE_CHAT = "console"          # the pseudo chat of a config without [telegram.chats]


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


@dataclass(frozen=True, slots=True)
class WatchEntry:
    """One watched name: its terms, filters and routing. ``chats`` is already resolved.

    Slotted: a national list holds 100,000 of them for the life of the daemon (104 bytes each
    instead of 206 with a ``__dict__``).
    """

    name: str
    kind: str = "other"
    terms: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    severity: str = "medium"
    chats: tuple[str, ...] = ()
    strict: bool = False

    def matching_key(self) -> tuple[object, ...]:
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
    #: A digest of what decides ``watches`` (each inline entry; each watch file's content and
    #: reading spec), and the very tuple it was computed for: see :meth:`watches_digest`.
    digest_of_watches: tuple[tuple[WatchEntry, ...], str] | None = field(default=None, compare=False, repr=False)

    def watches_digest(self) -> str | None:
        """A digest that stands for every entry of ``watches`` (name, terms, excludes, requires,
        strictness), known without reading the 100,000 entries of a registry again; None when
        ``watches`` is not the tuple it was computed for (a Config built or replaced by hand)."""
        if self.digest_of_watches is None or self.digest_of_watches[0] is not self.watches:
            return None
        return self.digest_of_watches[1]

    def source(self, name: str) -> SourceConfig:
        for src in self.sources:
            if src.name == name:
                return src
        raise KeyError(name)
