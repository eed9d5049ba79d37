"""The `paas-billing` console script: one command per process or tool, `--help` for each."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from paas_billing import cli
from reporter import client


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


def test_cli_version_names_the_installed_release() -> None:
    result = _run("--version")
    assert result.returncode == 0
    assert (
        result.stdout.startswith("paas-billing ") and result.stdout.strip().split()[1][0].isdigit()
    )


def _environment_names() -> set[str]:
    from tests.unit.test_deploy_manifests import PROCESS_PACKAGES, _settings_variables

    names = set().union(*(_settings_variables(p) for p in PROCESS_PACKAGES.values()))
    from simulator import settings as simulator_settings

    prefix = simulator_settings.ENV_PREFIX
    return names | {prefix + n.upper() for n in simulator_settings.Settings.model_fields}


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_cli_help_names_the_command_and_no_environment_variable_as_a_value(command: str) -> None:
    result = _run(command, "--help")
    usage = result.stdout.split("\n\n")[0]
    assert usage.startswith(f"usage: paas-billing {command}"), usage
    shown = set(re.findall(r"\b[A-Z][A-Z0-9_]{2,}\b", usage))
    assert not shown & _environment_names(), sorted(shown & _environment_names())


@pytest.mark.parametrize(("given", "seconds"), [("2", 2.0), ("0.5", 0.5), ("90s", 90.0)])
def test_report_timeout_takes_seconds_or_a_duration(given: str, seconds: float) -> None:
    args = client.parser().parse_args(
        ["--from", "2026-10-01", "--to", "2026-11-01", "--timeout", given]
    )
    assert args.timeout.total_seconds() == seconds


@pytest.mark.parametrize("given", ["0", "-1s", "soon"])
def test_report_timeout_refuses_what_is_not_a_positive_wait(given: str) -> None:
    result = _run("report", "--from", "2026-10-01", "--to", "2026-11-01", "--timeout", given)
    assert result.returncode == 2
    assert "--timeout" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["report", "--from", "2026-10-01", "--to", "2026-11-01"],
                                     ["bill", "--from", "2026-10-01", "--to", "2026-11-01"],
                                     ["dead-letters", "list"]])  # fmt: skip
def test_a_broker_that_is_down_exits_4_from_every_client(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "paas_billing", *command],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "AMQP_URL": "amqp://guest:guest@127.0.0.1:1/%2f"},
    )
    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr
