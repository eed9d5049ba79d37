"""The `paas-billing` console script: one command per process or tool, `--help` for each."""

from __future__ import annotations

import subprocess
import sys

import pytest

from paas_billing import cli


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "paas_billing", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )


def test_cli_help_lists_every_command() -> None:
    result = _run("--help")
    assert result.returncode == 0
    for command in cli.COMMANDS:
        assert command in result.stdout


def test_cli_unknown_command_exits_2_naming_it() -> None:
    result = _run("frobnicate")
    assert result.returncode == 2
    assert "unknown command 'frobnicate'" in result.stderr


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_cli_each_command_answers_help_without_configuration(command: str) -> None:
    result = _run(command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage" in result.stdout.lower()
    assert "Traceback" not in result.stderr
