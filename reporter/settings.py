"""The reporter's settings, from the environment only."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.durations import NonNegativeDuration, PositiveDuration
from shared.settings import AmqpUrl, LogLevel, MetricsPort, PostgresUrl

# RabbitMQ's default max_message_size (128 MiB): a larger message closes the channel.
DEFAULT_MAX_REPLY_BYTES = 128 * 1024 * 1024
# The most RabbitMQ's max_message_size may be set to (512 MiB).
BROKER_MAX_MESSAGE_BYTES = 512 * 1024 * 1024


class ReporterSettings(BaseSettings):
    """`python -m reporter` configuration (names as the contract gives them)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    database_url: PostgresUrl
    amqp_url: AmqpUrl
    log_level: LogLevel = "INFO"
    # Port of /metrics, /livez and /readyz; unset (or blank) means no metrics server.
    metrics_port: MetricsPort = None
    # Apply missing migrations at start (the contract's default); `false`: wait, changing
    # nothing, until `paas-billing migrate` (a Kubernetes Job, a CF task) has applied them.
    migrate_on_start: bool = True
    # Attempts after the first when the database is unreachable, before an `unavailable` reply.
    report_db_retries: int = Field(default=3, ge=0, le=20)
    # Wait before the first retry; doubled each time.
    report_db_retry_wait: NonNegativeDuration = timedelta(seconds=1)
    # Longest a report's queries may run.
    report_statement_timeout: PositiveDuration = timedelta(seconds=60)
    # Largest reply body sent; a larger report gets a `report_too_large` error reply. Set it
    # to the broker's max_message_size when that is lower than RabbitMQ's default.
    report_max_reply_bytes: int = Field(
        default=DEFAULT_MAX_REPLY_BYTES, ge=1024, le=BROKER_MAX_MESSAGE_BYTES
    )
