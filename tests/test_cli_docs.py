"""Every command is documented: a docstring with an example in --help, and a mention in README."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(main.commands))
def test_command_has_help_with_example_and_readme_entry(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    assert f"leakmon {name}" in README


def test_spec_commands_all_exist() -> None:
    expected = {"run", "once", "check", "status", "hits", "search", "retrohunt", "scan", "test-alert",
                "export", "demo"}
    assert expected <= set(main.commands)


def test_top_level_help_lists_global_options() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for option in ("--config", "--db", "--verbose", "--quiet", "--log-format"):
        assert option in result.output
