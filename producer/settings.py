"""The producer's environment: one pydantic-settings class, built once in main()."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from importlib import metadata

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared import errors, messages, settings
from shared.durations import NonNegativeDuration
from shared.states import ApiVersion

# The largest page v2 serves for service events (renderer.max_results_per_page).
V2_MAX_FETCH_LIMIT = 100
# The largest page v3 serves (PaginationOptions::PER_PAGE_MAX).
V3_MAX_FETCH_LIMIT = 5000


def _default_user_agent() -> str:
    try:
        version = metadata.version("paas-billing")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"paas-billing/{version}"


class AuthMethod(StrEnum):
    """How the producer gets a bearer token, in the contract's order of preference."""

    STATIC_TOKEN = "static_token"  # noqa: S105 (a method name, not a secret)
    CLIENT_CREDENTIALS = "client_credentials"
    PASSWORD = "password"  # noqa: S105 (a method name, not a secret)


class ProducerSettings(BaseSettings):
    """Environment of `python -m producer` (names and defaults from the original collector)."""

    model_config = SettingsConfigDict(frozen=True, case_sensitive=False)

    database_url: settings.PostgresUrl
    amqp_url: settings.AmqpUrl
    cf_api_address: settings.HttpUrl
    cf_client_id: str | None = None
    cf_client_secret: SecretStr | None = None
    cf_username: str | None = None
    cf_password: SecretStr | None = None
    cf_token: SecretStr | None = None
    cf_skip_ssl_validation: bool = False
    cf_user_agent: str = Field(default_factory=_default_user_agent, min_length=1)
    cf_api_version: ApiVersion = ApiVersion.V2
    # Every message carries it; the producer builds them without the model, so held here.
    cf_foundation: str = Field(
        default="default", min_length=1, max_length=messages.FOUNDATION_MAX_LENGTH
    )
    collector_default_schedule: NonNegativeDuration = timedelta(minutes=1)
    collector_min_wait_time: NonNegativeDuration = timedelta(seconds=3)
    # Validated after cf_api_version (declared before it), whose limit it depends on.
    collector_fetch_limit: int = 50
    collector_record_min_age: NonNegativeDuration = timedelta(minutes=5)
    log_level: settings.LogLevel = "INFO"
    metrics_port: settings.MetricsPort = None
    # Apply missing migrations at start (the contract's default); `false`: wait, changing
    # nothing, until `paas-billing migrate` (a Kubernetes Job, a CF task) has applied them.
    migrate_on_start: bool = True

    @field_validator("collector_fetch_limit")
    @classmethod
    def _fetch_limit(cls, value: int, info: ValidationInfo) -> int:
        version = info.data.get("cf_api_version", ApiVersion.V2)
        top = V3_MAX_FETCH_LIMIT if version is ApiVersion.V3 else V2_MAX_FETCH_LIMIT
        if not 1 <= value <= top:
            raise ValueError(f"must be between 1 and {top} for CF_API_VERSION={version}")
        return value

    @field_validator("cf_client_id", "cf_username", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


def auth_method(config: ProducerSettings) -> AuthMethod:
    """The contract's choice: CF_TOKEN, else client credentials, else password grant.

    Raises ConfigError with one line naming what to set when nothing usable is configured.
    """
    if _present(config.cf_token):
        return AuthMethod.STATIC_TOKEN
    if config.cf_client_id:
        if config.cf_client_secret is None:
            raise errors.ConfigError("CF_CLIENT_SECRET is required when CF_CLIENT_ID is set")
        return AuthMethod.CLIENT_CREDENTIALS
    if config.cf_username:
        if not _present(config.cf_password):
            raise errors.ConfigError("CF_PASSWORD is required when CF_USERNAME is set")
        return AuthMethod.PASSWORD
    raise errors.ConfigError(
        "no CF credentials: set CF_TOKEN, or CF_CLIENT_ID and CF_CLIENT_SECRET, "
        "or CF_USERNAME and CF_PASSWORD"
    )


def _present(secret: SecretStr | None) -> bool:
    return secret is not None and bool(secret.get_secret_value())
