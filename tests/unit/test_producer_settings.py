"""Producer settings: defaults, Go durations, exit 2 with one line naming the variable."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from producer import main as producer_main
from producer import settings
from shared import errors
from shared.messages import FOUNDATION_MAX_LENGTH
from shared.states import ApiVersion

BASE = {
    "DATABASE_URL": "postgres://u:p@127.0.0.1:5432/db",
    "AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/%2f",
    "CF_API_ADDRESS": "https://api.example.org",
    "CF_CLIENT_ID": "paas-billing",
    "CF_CLIENT_SECRET": "s3cret-value",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("CF_", "COLLECTOR_", "DATABASE_URL", "AMQP_URL", "METRICS_", "LOG_")):
            monkeypatch.delenv(name)
    for name, value in BASE.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def exit_line(capsys: pytest.CaptureFixture[str]) -> str:
    try:
        code: object = producer_main.main([])
    except SystemExit as exited:
        code = exited.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_settings_defaults_match_the_original_collector(env: pytest.MonkeyPatch) -> None:
    config = settings.ProducerSettings()
    assert config.collector_default_schedule == timedelta(minutes=1)
    assert config.collector_min_wait_time == timedelta(seconds=3)
    assert config.collector_fetch_limit == 50
    assert config.collector_record_min_age == timedelta(minutes=5)
    assert config.cf_api_version is ApiVersion.V2
    assert config.cf_foundation == "default"
    assert config.cf_skip_ssl_validation is False
    assert config.cf_user_agent.startswith("paas-billing/")
    assert config.metrics_port is None


def test_settings_accept_go_durations_and_zero_waits(env: pytest.MonkeyPatch) -> None:
    env.setenv("COLLECTOR_DEFAULT_SCHEDULE", "1h30m")
    env.setenv("COLLECTOR_MIN_WAIT_TIME", "0s")
    env.setenv("COLLECTOR_RECORD_MIN_AGE", "90s")
    config = settings.ProducerSettings()
    assert config.collector_default_schedule == timedelta(hours=1, minutes=30)
    assert config.collector_min_wait_time == timedelta(0)
    assert config.collector_record_min_age == timedelta(seconds=90)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("COLLECTOR_DEFAULT_SCHEDULE", "soon"),
        ("COLLECTOR_MIN_WAIT_TIME", "-3s"),
        ("COLLECTOR_RECORD_MIN_AGE", "5 minutes"),
        ("COLLECTOR_FETCH_LIMIT", "0"),
        ("COLLECTOR_FETCH_LIMIT", "101"),
        ("COLLECTOR_FETCH_LIMIT", "many"),
        ("CF_API_VERSION", "v4"),
        ("CF_API_ADDRESS", "api.example.org"),
        ("DATABASE_URL", "mysql://x"),
        ("AMQP_URL", "http://x"),
        ("CF_SKIP_SSL_VALIDATION", "perhaps"),
        ("METRICS_PORT", "99999"),
        ("LOG_LEVEL", "LOUD"),
        ("CF_FOUNDATION", ""),
        ("CF_FOUNDATION", "f" * 65),  # messages carry at most FOUNDATION_MAX_LENGTH
    ],
)
def test_settings_malformed_value_exits_2_naming_the_variable(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str
) -> None:
    env.setenv(variable, value)
    line = exit_line(capsys)
    assert variable in line
    assert "Traceback" not in line


@pytest.mark.parametrize("variable", ["DATABASE_URL", "AMQP_URL", "CF_API_ADDRESS"])
def test_settings_missing_required_exits_2_naming_the_variable(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str
) -> None:
    env.delenv(variable)
    assert f"{variable} is required" in exit_line(capsys)


def test_settings_foundation_as_long_as_a_message_allows(env: pytest.MonkeyPatch) -> None:
    env.setenv("CF_FOUNDATION", "é" * FOUNDATION_MAX_LENGTH)
    assert settings.ProducerSettings().cf_foundation == "é" * FOUNDATION_MAX_LENGTH


def test_settings_fetch_limit_up_to_5000_with_v3(env: pytest.MonkeyPatch) -> None:
    env.setenv("CF_API_VERSION", "v3")
    env.setenv("COLLECTOR_FETCH_LIMIT", "5000")
    assert settings.ProducerSettings().collector_fetch_limit == 5000
    env.setenv("COLLECTOR_FETCH_LIMIT", "5001")
    with pytest.raises(ValueError, match="5000"):
        settings.ProducerSettings()


def test_settings_no_credentials_exits_2_naming_what_to_set(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.delenv("CF_CLIENT_ID")
    env.delenv("CF_CLIENT_SECRET")
    line = exit_line(capsys)
    for name in ("CF_TOKEN", "CF_CLIENT_ID", "CF_CLIENT_SECRET", "CF_USERNAME", "CF_PASSWORD"):
        assert name in line


def test_settings_error_line_never_shows_a_secret(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("COLLECTOR_FETCH_LIMIT", "s3cret-value")
    assert "s3cret-value" not in exit_line(capsys)


def test_settings_auth_prefers_token_then_client_then_password(env: pytest.MonkeyPatch) -> None:
    env.setenv("CF_USERNAME", "admin")
    env.setenv("CF_PASSWORD", "admin")
    env.setenv("CF_TOKEN", "tok")
    assert settings.auth_method(settings.ProducerSettings()) is settings.AuthMethod.STATIC_TOKEN
    env.delenv("CF_TOKEN")
    method = settings.auth_method(settings.ProducerSettings())
    assert method is settings.AuthMethod.CLIENT_CREDENTIALS
    env.delenv("CF_CLIENT_ID")
    env.delenv("CF_CLIENT_SECRET")
    assert settings.auth_method(settings.ProducerSettings()) is settings.AuthMethod.PASSWORD


def test_settings_half_configured_credentials_name_the_missing_half(
    env: pytest.MonkeyPatch,
) -> None:
    env.delenv("CF_CLIENT_SECRET")
    with pytest.raises(errors.ConfigError, match="CF_CLIENT_SECRET"):
        settings.auth_method(settings.ProducerSettings())
    env.delenv("CF_CLIENT_ID")
    env.setenv("CF_USERNAME", "admin")
    with pytest.raises(errors.ConfigError, match="CF_PASSWORD"):
        settings.auth_method(settings.ProducerSettings())
