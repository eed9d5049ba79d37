"""The API's settings, from the environment only."""

from __future__ import annotations

from datetime import timedelta
from importlib import metadata

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.durations import NonNegativeDuration, PositiveDuration
from shared.settings import HttpUrl, LogLevel, MetricsPort, PostgresUrl


def _default_user_agent() -> str:
    try:
        version = metadata.version("paas-billing")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"paas-billing-api/{version}"


class ApiSettings(BaseSettings):
    """`paas-billing api` configuration. It holds no CF credentials: it asks the Cloud
    Controller with each user's own token."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    database_url: PostgresUrl
    cf_api_address: HttpUrl
    cf_skip_ssl_validation: bool = False
    cf_user_agent: str = Field(default_factory=_default_user_agent, min_length=1)
    api_host: str = Field(default="0.0.0.0", min_length=1)  # noqa: S104 (a server's default)
    api_port: int = Field(default=8080, ge=1, le=65535)
    metrics_port: MetricsPort = None
    log_level: LogLevel = "INFO"
    # Apply missing migrations at start (the contract's default); `false`: wait, changing
    # nothing, until `paas-billing migrate` (a Kubernetes Job, a CF task) has applied them.
    migrate_on_start: bool = True
    # How long a user's org roles are trusted before the Cloud Controller is asked again.
    api_roles_cache_ttl: NonNegativeDuration = timedelta(seconds=30)
    # Least time between two fetches of the UAA's keys for tokens naming an unknown kid.
    api_token_keys_refetch_interval: NonNegativeDuration = timedelta(seconds=30)
    # Database connections for reports; requests beyond them wait their turn.
    api_db_connections: int = Field(default=4, ge=1, le=100)
    # Longest a report's queries may run.
    report_statement_timeout: PositiveDuration = timedelta(seconds=60)
