"""What every leakmon command shares: the global options, failing with an exit code, the error
guard at the edge, and printing hit records."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import click

from monitor.errors import ConfigError, LeakmonError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@dataclass
class Options:
    config_path: str
    db: str | None
    verbose: int
    quiet: bool
    log_format: str

    def load(self) -> Any:
        from monitor.runtime import load

        return load(self.config_path, self.db)


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"leakmon: {message}", err=True)
    sys.exit(code)


def since_time(value: str | None) -> datetime | None:
    if not value:
        return None
    from monitor.config import parse_duration

    try:
        return datetime.now(UTC) - timedelta(seconds=parse_duration(value))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None


def no_mask_option(func: Any) -> Any:
    """The --no-mask option of `hits` and `export`."""
    return click.option("--no-mask", "no_mask", is_flag=True,
                        help="Show personal data unmasked (local forensic use only; never for Telegram).")(func)


def guard(func: Callable[..., Any]) -> Callable[..., Any]:
    """Translate our errors at the edge: a config error exits 2 with its message, no traceback."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            fail(str(exc), EXIT_USAGE)
        except LeakmonError as exc:
            from monitor.fetch import redact

            fail(redact(str(exc)), EXIT_FAILED)
        except KeyboardInterrupt:
            fail("interrupted", 130)
    return wrapper


def out_format(fmt: str | None, choices: tuple[str, ...]) -> str:
    if fmt:
        return fmt
    return "table" if sys.stdout.isatty() else ("json" if "json" in choices else choices[0])


def echo_rows(rows: list[dict[str, Any]], fmt: str) -> None:
    """Hit records as JSON or formula-safe CSV (`hits` and `export`)."""
    from monitor.report import HIT_COLUMNS, to_csv, to_json

    if fmt == "json":
        click.echo(to_json(rows))
    else:
        click.echo(to_csv(rows, list(rows[0]) if rows else list(HIT_COLUMNS)), nl=False)
