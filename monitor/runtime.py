"""Wiring shared by the commands: load the config, open the store, build the engine and the sender."""

from __future__ import annotations

import dataclasses
import importlib
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.config import Config, load_config

if TYPE_CHECKING:
    from monitor.alerts.console import Sender
    from monitor.alerts.outbox import Dispatcher
    from monitor.pipeline import Engine
    from monitor.store import AsyncStore


def import_soon(*names: str) -> None:
    """Import these modules in a daemon thread: for a command that needs them after a phase that
    mostly waits on the network (the polls of ``once``), the imports then cost no wall time. A
    module that fails here is imported again where it is used, and fails there with its error."""
    def run() -> None:
        for name in names:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - reported by the import where the module is used
                return

    threading.Thread(target=run, name="leakmon-import", daemon=True).start()


def default_config_path() -> str:
    return os.environ.get("LEAKMON_CONFIG") or "config.toml"


def resolve_db_path(config: Config, db_override: str | None) -> str:
    """``--db`` as given; ``[storage] path`` relative to the config file's folder."""
    if db_override:
        return db_override
    path = Path(config.storage.path).expanduser()
    if not path.is_absolute():
        path = Path(config.file).resolve().parent / path
    return str(path)


def load(config_path: str, db_override: str | None = None) -> Config:
    """Load the config and fix the database path once, so every command agrees on it."""
    config = load_config(config_path)
    storage = dataclasses.replace(config.storage, path=resolve_db_path(config, db_override))
    return dataclasses.replace(config, storage=storage)


@asynccontextmanager
async def engine(config: Config) -> AsyncIterator[Engine]:
    """An Engine with open store and network; closed on exit."""
    from monitor.fetch import Network
    from monitor.pipeline import Engine
    from monitor.store import AsyncStore

    store = AsyncStore(config.storage.path)
    network = Network(config.network)
    matcher, watches = Engine.build_matcher(config)
    try:
        yield Engine(config=config, network=network, store=store, matcher=matcher, watches=watches)
    finally:
        await network.aclose()
        await store.close()


@asynccontextmanager
async def dispatcher(config: Config, store: AsyncStore) -> AsyncIterator[Dispatcher]:
    """A Dispatcher with its sender (Telegram, or the console without a token) started."""
    from monitor.alerts.console import make_sender
    from monitor.alerts.outbox import Dispatcher

    sender = make_sender(config.telegram)
    await start_sender(sender)
    try:
        yield Dispatcher(store, sender, config.telegram, mask=config.privacy.mask)
    finally:
        await sender.stop()


async def start_sender(sender: Sender) -> None:
    """Start a sender; Telegram being unreachable now is no reason to stop: sends retry on their own."""
    import logging

    from monitor.errors import DeliveryError

    try:
        await sender.start()
    except DeliveryError as exc:
        logging.getLogger("leakmon.alerts").warning("Telegram not reachable at start (%s): alerts stay "
                                                    "pending and are retried", exc.reason)
