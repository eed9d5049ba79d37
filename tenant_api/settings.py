"""The API's settings, from the environment only."""

from __future__ import annotations

from datetime import timedelta
from importlib import metadata

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.durations import NonNegativeDuration, PositiveDuration
from shared.settings import HttpUrl, LogLevel, MetricsPort, PostgresUrl, blank_is_unset

# Shortest secret DASHBOARD_SESSION_KEY takes, in characters (`openssl rand -base64 32`
# makes 44).
MIN_SESSION_KEY_CHARS = 32


def _default_user_agent() -> str:
    try:
        version = metadata.version("paas-billing")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"paas-billing-api/{version}"


def split_keys(value: str) -> tuple[str, ...]:
    """The secrets of a comma-separated list, blanks around them dropped."""
    return tuple(part.strip() for part in value.split(","))


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
    # The dashboard (docs/dashboard.md): the API's own UAA client, which signs people in with
    # the authorization-code flow, and the address browsers reach the API at (the UAA sends
    # them back to DASHBOARD_URL/auth/callback). All three, or none: without them the
    # dashboard's pages say it is not set up, and /v1 works as before.
    dashboard_client_id: str | None = None
    dashboard_client_secret: SecretStr | None = Field(default=None, validate_default=True)
    dashboard_url: HttpUrl | None = Field(default=None, validate_default=True)
    # Longest a browser stays signed in; the user's token expiring ends it sooner.
    dashboard_session_ttl: PositiveDuration = timedelta(hours=8)
    # The secret the dashboard's cookies are sealed with, the same on every replica; several,
    # comma-separated, during a rotation (the first seals, all open). Unset: a key derived
    # from DASHBOARD_CLIENT_SECRET (docs/dashboard.md).
    dashboard_session_key: SecretStr | None = Field(default=None, validate_default=True)

    @field_validator(
        "dashboard_client_id",
        "dashboard_client_secret",
        "dashboard_url",
        "dashboard_session_key",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return blank_is_unset(value)

    @field_validator("dashboard_client_secret")
    @classmethod
    def _secret_with_client(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if info.data.get("dashboard_client_id") and value is None:
            raise ValueError("is required when DASHBOARD_CLIENT_ID is set")
        return value

    @field_validator("dashboard_url")
    @classmethod
    def _url_with_client(cls, value: str | None, info: ValidationInfo) -> str | None:
        client = info.data.get("dashboard_client_id")
        if client and value is None:
            raise ValueError("is required when DASHBOARD_CLIENT_ID is set")
        if value is not None and not client:
            raise ValueError("needs DASHBOARD_CLIENT_ID and DASHBOARD_CLIENT_SECRET too")
        return value

    @field_validator("dashboard_session_key")
    @classmethod
    def _session_key(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            return None
        if not info.data.get("dashboard_client_id"):
            raise ValueError("needs DASHBOARD_CLIENT_ID, DASHBOARD_CLIENT_SECRET and DASHBOARD_URL")
        for number, key in enumerate(split_keys(value.get_secret_value()), start=1):
            if len(key) < MIN_SESSION_KEY_CHARS:
                raise ValueError(
                    f"key {number} has {len(key)} characters; each needs at least "
                    f"{MIN_SESSION_KEY_CHARS} (make one with: openssl rand -base64 32)"
                )
        return value

    @property
    def dashboard_session_keys(self) -> tuple[str, ...]:
        """DASHBOARD_SESSION_KEY's secrets, the one that seals first; empty when unset."""
        key = self.dashboard_session_key
        return () if key is None else split_keys(key.get_secret_value())
