"""Settings: a missing or malformed variable exits 2 with one line naming it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared import durations, settings


class ExampleSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True)

    database_url: settings.PostgresUrl
    amqp_url: settings.AmqpUrl = "amqp://guest:guest@localhost:5672/%2f"
    collector_min_wait_time: durations.Duration = timedelta(seconds=3)


def test_settings_load_reads_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db:5432/billing?sslmode=require")
    monkeypatch.setenv("COLLECTOR_MIN_WAIT_TIME", "0s")
    loaded = settings.load(ExampleSettings)
    assert loaded.database_url.endswith("sslmode=require")
    assert loaded.collector_min_wait_time == timedelta(0)


def test_settings_load_exits_2_naming_a_missing_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        settings.load(ExampleSettings)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "DATABASE_URL is required" in err


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("DATABASE_URL", "mysql://x@y/z", "DATABASE_URL is invalid"),
        ("AMQP_URL", "http://rabbit", "AMQP_URL is invalid"),
        ("COLLECTOR_MIN_WAIT_TIME", "soon", "COLLECTOR_MIN_WAIT_TIME is invalid"),
    ],
)
def test_settings_load_exits_2_naming_a_malformed_variable(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    says: str,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db/billing")
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as exit_info:
        settings.load(ExampleSettings)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert says in err
    assert "Traceback" not in err


def test_settings_error_line_never_shows_the_secret_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://user:hunter2@db/billing")
    with pytest.raises(SystemExit):
        settings.load(ExampleSettings)
    assert "hunter2" not in capsys.readouterr().err
