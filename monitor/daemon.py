"""`leakmon run`: APScheduler wiring, the outbox dispatcher job, live config reload, clean stop.

One job per source at its interval (with ~10 % jitter, one run at a time, misfires coalesced),
one dispatcher job draining the outbox, one job watching the config file and every file it
reads (watch files). Every job body has its own deadline, so a hung poll cannot block its source
forever. With ``[telegram] commands = true`` the bot's command and button poller
(monitor.alerts.commands) runs beside them; it failing to start is logged and retried, never fatal.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.config import Config, SourceConfig
from monitor.errors import ConfigError

log = logging.getLogger("leakmon.daemon")

DISPATCH_EVERY = 1.0          # seconds between outbox passes
CONFIG_CHECK_EVERY = 2.0      # seconds between looks at the config file
COMMANDS_RETRY_EVERY = 30.0   # seconds between attempts to start the bot commands poller
STOP_GRACE = 6.0              # seconds given to in-flight jobs on SIGTERM


class Daemon:
    """The running service: owns the scheduler, the engine and the dispatcher."""

    def __init__(self, config: Config, config_path: str, db_override: str | None) -> None:
        self.config = config
        self.config_path = config_path
        self.db_override = db_override
        self.stop_event = asyncio.Event()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.config_digest = _digest(config_path, config.files)
        self.config_stamp: tuple[Any, ...] | None = None   # the files' stat when last looked at
        self.reported_bad_digest: str | None = None
        self.closers: set[asyncio.Task[Any]] = set()
        self.commands: Any = None          # the CommandPoller while bot commands run
        self.commands_lock = asyncio.Lock()  # the retry job and a reload must not start two
        self.commands_warned: Any = None   # the telegram config last warned about (no token)

    # ------------------------------------------------------------ life cycle

    async def run(self) -> int:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        from monitor.alerts.console import make_sender
        from monitor.alerts.outbox import Dispatcher
        from monitor.fetch import Network
        from monitor.pipeline import Engine
        from monitor.runtime import start_sender
        from monitor.store import AsyncStore

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop_event.set)
        async with AsyncExitStack() as stack:
            self.store = AsyncStore(self.config.storage.path)
            stack.push_async_callback(self.store.close)
            matcher, watches = Engine.build_matcher(self.config)
            self.engine = Engine(config=self.config, network=Network(self.config.network), store=self.store,
                                 matcher=matcher, watches=watches)
            stack.push_async_callback(lambda: self.engine.network.aclose())
            self.sender = make_sender(self.config.telegram)
            await start_sender(self.sender)
            stack.push_async_callback(lambda: self.sender.stop())
            self.dispatcher = Dispatcher(self.store, self.sender, self.config.telegram,
                                         mask=self.config.privacy.mask)
            self.metrics = _start_metrics(self.config)

            self.scheduler = AsyncIOScheduler(timezone=UTC, job_defaults={
                "coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
            self.scheduler.start()
            self._schedule_all(self.config.sources)
            self.scheduler.add_job(self._job, "interval", seconds=DISPATCH_EVERY, id="dispatch",
                                   args=["dispatch", self._dispatch, 300.0], next_run_time=_now())
            self.scheduler.add_job(self._job, "interval", seconds=CONFIG_CHECK_EVERY, id="config",
                                   args=["config", self._check_config, 600.0])
            self.scheduler.add_job(self._job, "interval", hours=6, id="prune",
                                   args=["prune", self._prune, 600.0], next_run_time=_now())
            self.scheduler.add_job(self._job, "interval", seconds=COMMANDS_RETRY_EVERY, id="commands",
                                   args=["commands", self._ensure_commands, 60.0], next_run_time=_now())
            log.info("leakmon running: %d sources, %d watch entries, database %s", len(self.config.sources),
                     len(self.config.watches), self.config.storage.path)
            await self._hunt_changes("start")
            await self.stop_event.wait()
            log.info("stopping")
            # No new runs; the runs in flight get STOP_GRACE to finish (a delivery in flight is
            # marked sent or stays pending). Shutting the scheduler down first would cancel them.
            self.scheduler.pause()
            await self._stop_commands()
            await self._finish_tasks()
            self.scheduler.shutdown(wait=False)
            for closer in list(self.closers):
                closer.cancel()
            if self.closers:
                await asyncio.wait(list(self.closers), timeout=2.0)
        log.info("stopped")
        return 0

    async def _finish_tasks(self) -> None:
        """Let in-flight jobs end (a delivery in flight finishes or stays pending), then cancel the rest."""
        pending = [t for t in self.tasks if not t.done()]
        if pending:
            _, still = await asyncio.wait(pending, timeout=STOP_GRACE)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still, timeout=2.0)

    async def _job(self, name: str, body: Callable[[], Awaitable[None]], deadline: float) -> None:
        """Every job: tracked for a clean stop, bounded in time, one log line on failure."""
        if self.stop_event.is_set():
            return
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        try:
            async with asyncio.timeout(deadline):
                await body()
        except TimeoutError:
            log.warning("%s: gave up after %gs", name, deadline)
        except asyncio.CancelledError:
            if self.stop_event.is_set():      # cut short at stop, after its grace: nothing to report
                log.info("%s: cancelled at stop", name)
                return
            raise
        except Exception as exc:  # the edge of a job: log one line, the daemon goes on
            from monitor.fetch import redact

            log.error("%s: %s: %s", name, type(exc).__name__, redact(str(exc)),
                      exc_info=log.isEnabledFor(logging.DEBUG))
        finally:
            if task is not None:
                self.tasks.discard(task)

    # ------------------------------------------------------------ jobs

    def _schedule_all(self, sources: Sequence[SourceConfig]) -> None:
        """One poll job per source, first polls spread when they do not fit the network slots."""
        from monitor.firstpoll import first_poll_delays

        now = _now()
        delays = first_poll_delays([(s.name, s.interval) for s in sources], self.config.network.concurrency)
        for src in sources:
            self._schedule(src, now + timedelta(seconds=delays[src.name]))

    def _schedule(self, src: SourceConfig, first: datetime) -> None:
        from monitor.pipeline import poll_deadline

        self.scheduler.add_job(
            self._job, "interval", seconds=src.interval, jitter=max(src.interval * 0.1, 0.0),
            id=f"poll:{src.name}", name=f"poll:{src.name}", replace_existing=True, next_run_time=first,
            args=[f"poll {src.name}", lambda name=src.name: self._poll(name),
                  poll_deadline(src, self.config) + 30.0])

    async def _poll(self, name: str) -> None:
        from monitor.pipeline import poll_source

        try:
            src = self.config.source(name)
        except KeyError:
            return
        report = await poll_source(src, self.engine)
        if self.metrics:
            self.metrics.observe_poll(report)

    async def _dispatch(self) -> None:
        report = await self.dispatcher.deliver_due()
        if self.metrics:
            await self.metrics.observe_outbox(self.store, report)

    async def _ensure_commands(self) -> None:
        """Start the bot commands poller when the config asks for it and it is not running."""
        async with self.commands_lock:
            await self._start_commands()

    async def _start_commands(self) -> None:
        telegram = self.config.telegram
        if self.commands is not None or not telegram.commands or self.stop_event.is_set():
            return
        token = telegram.token()
        if not token or not telegram.chats:
            if self.commands_warned != telegram:      # once per config, not every retry
                self.commands_warned = telegram
                log.warning("[telegram] commands = true needs a bot token and [telegram.chats]: commands are off")
            return
        from monitor.alerts.commands import Responder
        from monitor.alerts.poller import CommandPoller
        from monitor.errors import DeliveryError

        poller = CommandPoller(token, telegram.api_url, Responder(self.store, lambda: self.config))
        try:
            await poller.start()
        except DeliveryError as exc:
            log.warning("bot commands not started (%s): retrying in %gs", exc.reason,
                        COMMANDS_RETRY_EVERY)
            return
        if self.stop_event.is_set():
            await poller.stop()
            return
        self.commands = poller
        log.info("bot commands: answering in %d chats", len(telegram.chats))

    async def _stop_commands(self) -> None:
        async with self.commands_lock:
            poller, self.commands = self.commands, None
            if poller is not None:
                await poller.stop()

    async def _prune(self) -> None:
        privacy = self.config.privacy
        result = await self.store.prune(datetime.now(UTC), keep_text=privacy.keep_text,
                                        keep_evidence=privacy.keep_evidence)
        if result.texts or result.evidence:
            log.info("retention: %s", result)

    async def _retrohunt(self, watches: list[Any], prints: Mapping[str, str]) -> None:
        """Match stored posts against new or changed entries; their hits go out marked retro-hunt.
        Then their fingerprints are recorded: a stop before this point hunts them again at start."""
        from monitor.retrohunt import retrohunt
        from monitor.watchprints import record

        result = await retrohunt(self.store, watches, self.config.health.retrohunt_days)
        log.info("retro-hunt of %d new or changed watch entries: %d posts, %d new hits", len(watches),
                 result.posts, result.new_hits)
        await record(self.store, {w.name: prints[w.name] for w in watches},
                     [w.name for w in self.config.watches])

    async def _hunt_changes(self, when: str) -> int:
        """Retro-hunt (in its own job) the entries new or changed since the fingerprints recorded in
        the database: at start (edits made while stopped) and at each reload. Returns how many."""
        from monitor.errors import LeakmonError
        from monitor.watchprints import record, watch_changes

        names = [w.name for w in self.config.watches]
        try:
            changes = await watch_changes(self.store, self.config.watches)
            # the first time (new database, or one from before fingerprints): record, hunt nothing
            await record(self.store, changes.prints if changes.first else {}, names)
        except LeakmonError as exc:
            log.error("watch list fingerprints not read: %s", exc)
            return 0
        if changes.first:
            log.info("watch list: fingerprints of %d entries recorded (first run: no retro-hunt)", len(names))
            return 0
        changed = list(changes.changed)
        if changed:
            # its own job (not the dispatcher's): a long retro-hunt must not hold alerts back
            self.scheduler.add_job(self._job, id=f"retrohunt:{when}:{self.config_digest}", replace_existing=True,
                                   args=["retro-hunt", lambda: self._retrohunt(changed, changes.prints), 3600.0])
            if when == "start":
                log.info("%d watch entries new or changed since the last run: retro-hunt over %d days",
                         len(changed), self.config.health.retrohunt_days)
        return len(changed)

    # ------------------------------------------------------------ config reload

    async def _check_config(self) -> None:
        """Reload when the config file or any file it read (watch files) changed."""
        files = self.config.files
        stamp = _stamp(self.config_path, files)
        if stamp == self.config_stamp:
            return                 # nothing touched: a 100,000-row watch file is not read again
        loop = asyncio.get_running_loop()
        digest = await loop.run_in_executor(None, _digest, self.config_path, files)
        if digest is None:
            return
        if digest == self.config_digest:
            self.config_stamp = stamp
            return
        from monitor.runtime import load

        try:
            new = await loop.run_in_executor(None, load, self.config_path, self.db_override)
        except ConfigError as exc:
            if digest != self.reported_bad_digest:
                self.reported_bad_digest = digest
                log.error("config not reloaded, the running config stays: %s", exc)
                await self.store.enqueue_text(self.config.telegram.health_chats,
                                              {"event": "config_error", "file": self.config_path, "error": str(exc)},
                                              kind="health")
            return
        if new.files == files:
            # The digest and stat taken before loading: an edit made while loading is a change next time.
            self.config_stamp = stamp
        else:
            # another set of files (a watch file added or removed): watch those from now on
            digest = await loop.run_in_executor(None, _digest, self.config_path, new.files) or digest
            self.config_stamp = None
        self.config_digest = digest
        self.reported_bad_digest = None
        await self._apply(new)

    async def _apply(self, new: Config) -> None:
        from monitor.alerts.console import make_sender
        from monitor.alerts.outbox import Dispatcher
        from monitor.fetch import Network
        from monitor.pipeline import Engine
        from monitor.runtime import start_sender

        old = self.config
        for key, was, now in (("storage.path", old.storage.path, new.storage.path),
                              ("metrics.listen", old.metrics.listen, new.metrics.listen)):
            if was != now:
                log.warning("config: %s changed; it takes effect at the next restart", key)
        matcher, watches = await asyncio.get_running_loop().run_in_executor(None, Engine.build_matcher, new)
        network = self.engine.network
        if new.network != old.network:
            old_network, network = network, Network(new.network)
            self._later(old_network.aclose)
        self.engine = Engine(config=new, network=network, store=self.store, matcher=matcher, watches=watches)
        if new.telegram != old.telegram:
            await self._stop_commands()          # a new token, API or chat list: start afresh
            old_sender, self.sender = self.sender, make_sender(new.telegram)
            await start_sender(self.sender)
            self.dispatcher = Dispatcher(self.store, self.sender, new.telegram, mask=new.privacy.mask)
            self._later(old_sender.stop)
        self.dispatcher.mask = new.privacy.mask
        self.config = new
        old_sources = {s.name: s for s in old.sources}
        self._schedule_all([src for src in new.sources if old_sources.get(src.name) != src])
        for name in set(old_sources) - {s.name for s in new.sources}:
            self.scheduler.remove_job(f"poll:{name}")
        changed = await self._hunt_changes("reload")
        await self._ensure_commands()
        log.info("config reloaded: %d sources, %d watch entries (%d new or changed: retro-hunt over %d days)",
                 len(new.sources), len(new.watches), changed, new.health.retrohunt_days)

    def _later(self, close: Callable[[], Awaitable[None]]) -> None:
        """Close a replaced client once the polls that may still use it are done (or at stop)."""
        async def closer() -> None:
            try:
                await asyncio.sleep(600)
            finally:
                self.closers.discard(task)
                await close()
        task = asyncio.get_running_loop().create_task(closer())
        self.closers.add(task)


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(path: str, others: tuple[str, ...]) -> tuple[Any, ...]:
    """What stat says of the config file and the files it read (a change here calls for a digest)."""
    stamps: list[Any] = []
    for name in (path, *others):
        try:
            st = os.stat(name)
        except OSError:
            stamps.append(None)
        else:
            stamps.append((st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns))
    return tuple(stamps)


def _digest(path: str, others: tuple[str, ...] = ()) -> str | None:
    """A digest of the config file and every other file it read; None when the config file
    cannot be read (a missing or unreadable other file is a change: reloading reports it)."""
    digest = hashlib.sha256()
    for at, name in enumerate((path, *others)):
        try:
            data = Path(name).read_bytes()
        except OSError:
            if at == 0:
                return None
            data = b"\0missing"
        digest.update(f"{len(name)}:{name}:{len(data)}:".encode("utf-8", "surrogateescape"))
        digest.update(data)
    return digest.hexdigest()


def _start_metrics(config: Config) -> Any:
    if not config.metrics.listen:
        return None
    from monitor.metrics import Metrics

    return Metrics.start(config.metrics.listen)


async def run_daemon(config: Config, config_path: str, db_override: str | None) -> int:
    """Run until SIGINT/SIGTERM; returns the exit code."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    return await Daemon(config, config_path, db_override).run()
