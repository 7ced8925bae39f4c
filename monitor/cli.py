"""The leakmon command line (click). Each command's docstring is its --help, with an example.

The commands that read the store are in ``monitor/cliread.py``; what they all share (options,
exit codes, the error guard) in ``monitor/clibase.py``.

Heavy modules are imported inside the commands so that ``leakmon --help`` answers at once, and
``leakmon scan`` (often timed against grep) loads no asyncio.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from monitor import cliread
from monitor.clibase import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Options, fail, guard
from monitor.errors import ConfigError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", envvar="LEAKMON_CONFIG", default="config.toml", show_default=True,
              help="Config file (or $LEAKMON_CONFIG).")
@click.option("--db", default=None, help="SQLite file; overrides [storage] path.")
@click.option("-v", "--verbose", count=True, help="More log output (twice: library debug too).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.version_option(package_name="leakmon")
@click.pass_context
def main(ctx: click.Context, config_path: str, db: str | None, verbose: int, quiet: bool, log_format: str) -> None:
    """leakmon: watch leak forums, pastes, Telegram channels and ransomware trackers for your names.

    \b
    Example:
        leakmon check                 # validate config.toml
        leakmon once                  # poll every source once, alert, exit
        leakmon run                   # the daemon
    """
    from monitor.logs import setup_logging

    setup_logging(verbose, quiet, log_format)
    ctx.obj = Options(config_path, db, verbose, quiet, log_format)


for _command in (cliread.status, cliread.hits, cliread.search, cliread.export, cliread.prune,
                 cliread.evidence):
    main.add_command(_command)


# ---------------------------------------------------------------- polling


@main.command()
@click.pass_obj
@guard
def run(opts: Options) -> None:
    """Run the daemon: poll every source on its schedule, deliver alerts, reload the config on change.

    Stops cleanly on SIGINT or SIGTERM.

    \b
    Example:
        LEAKMON_TELEGRAM_TOKEN=... leakmon --config /etc/leakmon/config.toml run
    """
    import signal

    # Until the event loop takes over the signals, a SIGTERM during start-up is a clean exit too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    import asyncio

    from monitor.daemon import run_daemon
    from monitor.heaplimit import fix_mmap_threshold

    fix_mmap_threshold()         # before start-up's big blocks: what they leave is given back

    config = opts.load()
    sys.exit(asyncio.run(run_daemon(config, opts.config_path, opts.db)))


@main.command()
@click.option("--source", "names", multiple=True, metavar="NAME", help="Only this source (repeatable).")
@click.option("--deliver-timeout", default=60.0, show_default=True, help="Seconds to wait for delivery.")
@click.pass_obj
@guard
def once(opts: Options, names: tuple[str, ...], deliver_timeout: float) -> None:
    """Poll each source (or the named ones) once, store, deliver pending alerts, exit.

    Exit 1 if a source or a delivery failed (the others still ran).

    \b
    Example:
        leakmon once --source zataz --source ransomware-live
    """
    config = opts.load()
    known = [s.name for s in config.sources]
    for name in names:
        if name not in known:
            raise ConfigError(config.file, "source", f"no source named {name!r} (sources: {', '.join(known)})")
    selected = [s for s in config.sources if not names or s.name in names]
    import asyncio

    from monitor import usecases

    code = _print_once(asyncio.run(usecases.once(config, selected, deliver_timeout)))
    from monitor.quickexit import exit_process

    exit_process(code)      # everything is stored and delivered: no interpreter teardown to wait for


def _print_once(outcome: Any) -> int:
    """Say what failed in a ``once`` (sources, delivery) on stderr; the exit code."""
    for line in outcome.problems():
        click.echo(f"leakmon: {line}", err=True)
    return EXIT_OK if outcome.ok else EXIT_FAILED


@main.command()
@click.option("--fetch", is_flag=True, help="Also fetch each source once and show what its selectors find.")
@click.option("--source", "names", multiple=True, metavar="NAME", help="With --fetch: only this source (repeatable).")
@click.option("--show", is_flag=True, help="With --fetch: every parsed field of the first items and its selector.")
@click.pass_obj
@guard
def check(opts: Options, fetch: bool, names: tuple[str, ...], show: bool) -> None:
    """Validate the config and print a summary; with --fetch, try each source (nothing stored or sent).

    \b
    Example:
        leakmon --config config.toml check --fetch
        leakmon check --fetch --source breachforums-databases --show
    """
    from monitor.fetch import redact
    from monitor.timetext import span

    config = opts.load()
    known = [s.name for s in config.sources]
    for name in names:
        if name not in known:
            raise ConfigError(config.file, "source", f"no source named {name!r} (sources: {', '.join(known)})")
    if (names or show) and not fetch:
        fail("--source and --show go with --fetch (leakmon check --fetch --source NAME --show)", EXIT_USAGE)
    tg = config.telegram
    token = "set" if tg.token() else f"not set (${tg.token_env}): alerts go to the console"
    terms = sum(len(w.terms) + len(w.regex) for w in config.watches)
    click.echo(f"{config.file}: OK")
    click.echo(f"  database   {config.storage.path}")
    click.echo(f"  watch list {len(config.watches)} entries, {terms} terms"
               + (f" ({len(config.watch_files)} watch file(s))" if config.watch_files else ""))
    click.echo(f"  telegram   token {token}; chats: {', '.join(tg.chats) or 'none'}")
    click.echo(f"  sources    {len(config.sources)}")
    for src in config.sources:
        extra = f" preset={src.preset}" if src.preset else ""
        via = " via proxy" if src.proxy else ""
        click.echo(f"    {src.name:<28} {src.kind:<8} every {span(src.interval):<5}{extra}{via}  "
                   f"{redact(src.url)}")
    if fetch:
        selected = [s for s in config.sources if not names or s.name in names]
        import asyncio

        failures = asyncio.run(_check_fetch(config, selected, show))
        sys.exit(EXIT_FAILED if failures else EXIT_OK)


async def _check_fetch(config: Any, selected: list[Any], show: bool = False) -> int:
    """Fetch each source's listing once and parse it: no item page is followed, nothing is stored."""
    import sources
    from monitor.checkshow import show_lines
    from monitor.errors import FetchError, NotModified, ParseError
    from monitor.fetch import Network
    from monitor.repair import repair_item

    network = Network(config.network)
    failures = 0
    try:
        for src in selected:
            try:
                page = await network.fetcher(src).get(src.url)
                items = sources.module(src.kind).parse(page, src.options)   # html: ParseError when none
                items = [repair_item(item) for item in items]                 # as a poll would store them
            except (FetchError, ParseError, NotModified) as exc:
                failures += 1
                click.echo(f"  {src.name}: FAILED: {getattr(exc, 'reason', str(exc))}")
                continue
            click.echo(f"  {src.name}: {len(items)} items")
            if show:
                for line in show_lines(src.kind, src.options, page, items):
                    click.echo(line)
                continue
            for item in items[:3]:
                click.echo(f"      - {' '.join(item.title.split())[:100]}")
    finally:
        await network.aclose()
    return failures


@main.command()
@click.option("--days", type=int, default=None,
              help="Posts first seen this many days back (default: [health] retrohunt_days).")
@click.option("--watch", "names", multiple=True, help="Only this watch entry (repeatable).")
@click.pass_obj
@guard
def retrohunt(opts: Options, days: int | None, names: tuple[str, ...]) -> None:
    """Match stored posts against the current watch list; new hits are alerted (marked retro-hunt).

    \b
    Example:
        leakmon retrohunt --days 90 --watch "CHU de Rennes"
    """
    config = opts.load()
    watches = [w for w in config.watches if not names or w.name in names]
    missing = set(names) - {w.name for w in watches}
    if missing:
        raise ConfigError(config.file, "watch", f"no watch entry named {sorted(missing)[0]!r}")
    import asyncio

    from monitor import usecases

    days = days if days is not None else config.health.retrohunt_days
    progress = _progress("retro-hunt") if sys.stderr.isatty() and not opts.quiet else None
    # The hunt's result is printed as soon as it is known: delivering its alerts may take a while
    # (Telegram's rate limits; the console prints every alert after this line).
    outcome = asyncio.run(usecases.retrohunt(config, watches, days, progress, hunted=lambda result: click.echo(
        f"retro-hunt: {result.posts} posts over {days} days, {result.new_hits} new hits")))
    sys.exit(EXIT_OK if outcome.ok else EXIT_FAILED)


def _progress(label: str) -> Any:
    """A ``progress(done, total)`` callback drawing click's progress bar on stderr (terminals only)."""
    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=max(total, 1), label=label, file=sys.stderr)
            bar.__enter__()
        elif bar.finished:
            return
        target = bar.length if done >= total else done    # posts stored meanwhile may pass the count
        bar.update(max(0, target - bar.pos))
        if done >= total:
            bar.__exit__(None, None, None)
    return update


def _byte_progress(label: str) -> Any:
    """A progress callback for a file being read: bytes, rate and time left on stderr (terminals only)."""
    # Drawn by hand, not with click.progressbar: that bar shows neither a rate nor any progress for
    # a stream of unknown length (``scan -`` reads stdin), and both are what this line is for.
    import time

    started = time.monotonic()
    shown = [0.0]

    def update(done: int, total: int | None) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if now - shown[0] < 0.2 and not finished:
            return
        shown[0] = now
        rate = done / max(now - started, 1e-6)
        line = f"\r{label} {done / 1e6:,.0f} MB"
        if total:
            left = (total - done) / rate if rate > 0 else 0
            line += f" of {total / 1e6:,.0f} MB ({100 * done / total:3.0f}%)"
            line += f", {rate / 1e6:,.0f} MB/s, {int(left) // 60}:{int(left) % 60:02d} left"
        else:
            line += f", {rate / 1e6:,.0f} MB/s"
        sys.stderr.write(line + ("\n" if finished else ""))
        sys.stderr.flush()
    return update


@main.command()
@click.argument("path", type=click.Path(allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True)
@click.pass_obj
@guard
def scan(opts: Options, path: str, fmt: str) -> None:
    """Match a local file (or - for stdin) against the watch list and print the hits. Nothing stored or sent.

    \b
    Example:
        leakmon scan leaked_dump.csv
        zcat dump.sql.gz | leakmon scan -
    """
    from monitor.scan import scan_file

    config = opts.load()
    progress = _byte_progress("scan") if sys.stderr.isatty() and not opts.quiet else None
    count = scan_file(config, path, fmt, sys.stdout, progress)
    click.echo(f"{count} hit(s)", err=True)


@main.command("test-alert")
@click.option("--chat", default=None, help="Only this chat (a name from [telegram.chats]).")
@click.pass_obj
@guard
def test_alert(opts: Options, chat: str | None) -> None:
    """Send a test message to each configured chat (or one), to check the bot and the chat ids.

    \b
    Example:
        LEAKMON_TELEGRAM_TOKEN=123:abc leakmon test-alert --chat soc
    """
    config = opts.load()
    if chat is not None and chat not in config.telegram.chats:
        raise ConfigError(config.file, "telegram.chats", f"no chat named {chat!r}")
    import asyncio

    from monitor import usecases

    results = asyncio.run(usecases.test_alert(config, chat))
    for name, ok, error in results:
        click.echo(f"{name}: {'sent' if ok else 'FAILED: ' + str(error)}")
    sys.exit(EXIT_FAILED if any(not ok for _, ok, _ in results) else EXIT_OK)


@main.command()
@click.pass_obj
@guard
def demo(opts: Options) -> None:
    """A self-contained demo, no network: serves bundled sample pages on loopback, polls them, prints the alerts.

    \b
    Example:
        leakmon demo
    """
    from monitor.demo import run_demo

    sys.exit(run_demo())
