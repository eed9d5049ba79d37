"""The consumer's environment: where to read, where to write, how big a batch."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared import durations, settings

# Messages the broker may hand this consumer before it acks (the prefetch window).
DEFAULT_PREFETCH = 2000
# Events written per transaction at most.
DEFAULT_BATCH_SIZE = 1000
# How long a partial batch may wait for more messages before it is written anyway.
DEFAULT_BATCH_WAIT = timedelta(milliseconds=50)


class ConsumerSettings(BaseSettings):
    """Environment of `python -m consumer`."""

    model_config = SettingsConfigDict(frozen=True)

    database_url: settings.PostgresUrl
    amqp_url: settings.AmqpUrl
    log_level: settings.LogLevel = "INFO"
    metrics_port: settings.MetricsPort = None
    # Apply missing migrations at start (the contract's default); `false`: wait, changing
    # nothing, until `paas-billing migrate` (a Kubernetes Job, a CF task) has applied them.
    migrate_on_start: bool = True
    consumer_prefetch: int = Field(default=DEFAULT_PREFETCH, ge=1, le=65535)
    consumer_batch_size: int = Field(default=DEFAULT_BATCH_SIZE, ge=1, le=10000)
    consumer_batch_wait: durations.Duration = DEFAULT_BATCH_WAIT

    @field_validator("consumer_batch_wait")
    @classmethod
    def _non_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0) or value > timedelta(minutes=1):
            raise ValueError("must be between 0s and 1m, such as 50ms")
        return value
