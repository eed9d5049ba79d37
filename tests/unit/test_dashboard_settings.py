"""DASHBOARD_SESSION_KEY: one secret or several for a rotation, each long enough, only with
the dashboard's client; errors name the variable and never quote the key."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared import settings
from tenant_api.settings import ApiSettings

BASE = {
    "DATABASE_URL": "postgres://u@h/db",
    "CF_API_ADDRESS": "https://api.example.org",
    "DASHBOARD_CLIENT_ID": "dashboard",
    "DASHBOARD_CLIENT_SECRET": "client-secret",
    "DASHBOARD_URL": "https://billing.example.org",
}
NEW, OLD = "n" * 44, "o" * 32


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> ApiSettings:
    for name, value in {**BASE, **env}.items():
        monkeypatch.setenv(name, value)
    return ApiSettings()


def refusal(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    with pytest.raises(ValidationError) as refused:
        load(monkeypatch, **env)
    return settings.describe_error(ApiSettings, refused.value)


def test_dashboard_session_key_unset_or_blank_means_derived(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load(monkeypatch).dashboard_session_keys == ()
    assert load(monkeypatch, DASHBOARD_SESSION_KEY="  ").dashboard_session_keys == ()


def test_dashboard_session_key_lists_the_sealing_key_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load(monkeypatch, DASHBOARD_SESSION_KEY=NEW).dashboard_session_keys == (NEW,)
    both = load(monkeypatch, DASHBOARD_SESSION_KEY=f" {NEW} , {OLD}")
    assert both.dashboard_session_keys == (NEW, OLD)
    assert NEW not in repr(both)


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("short-key", "key 1 has 9 characters; each needs at least 32"),
        (f"{NEW},short-old", "key 2 has 9 characters"),
        (f"{NEW},", "key 2 has 0 characters"),
    ],
)
def test_dashboard_session_key_too_short_names_the_variable_not_the_value(
    monkeypatch: pytest.MonkeyPatch, key: str, says: str
) -> None:
    line = refusal(monkeypatch, DASHBOARD_SESSION_KEY=key)
    assert line.startswith("DASHBOARD_SESSION_KEY is invalid:") and says in line, line
    assert "short" not in line and NEW not in line


def test_dashboard_session_key_needs_the_dashboards_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DASHBOARD_CLIENT_ID", "")
    monkeypatch.delenv("DASHBOARD_CLIENT_SECRET", raising=False)
    monkeypatch.delenv("DASHBOARD_URL", raising=False)
    for name in ("DATABASE_URL", "CF_API_ADDRESS"):
        monkeypatch.setenv(name, BASE[name])
    monkeypatch.setenv("DASHBOARD_SESSION_KEY", NEW)
    with pytest.raises(ValidationError) as refused:
        ApiSettings()
    line = settings.describe_error(ApiSettings, refused.value)
    assert line.startswith("DASHBOARD_SESSION_KEY is invalid: needs DASHBOARD_CLIENT_ID"), line
