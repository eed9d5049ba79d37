"""Settings building blocks: URL types, a loader that fails with one clear line, exit code 2.

Each process has its own pydantic-settings class (`producer/settings.py`, ...) built once in
main() from these pieces.
"""

from __future__ import annotations

import sys
from typing import Annotated, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, ValidationError
from pydantic_settings import BaseSettings

# Exit code for a missing or malformed setting, as the contract fixes it.
EXIT_CONFIG = 2


def _postgres_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("postgres", "postgresql") or (not parts.hostname and not parts.path):
        raise ValueError("must look like postgres://user:pass@host:port/db")
    return value


def _amqp_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
        raise ValueError("must look like amqp://user:pass@host:port/vhost")
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// address")
    return value.rstrip("/")


# A PostgreSQL URL (`postgres://user:pass@host:port/db`, `?sslmode=` allowed).
PostgresUrl = Annotated[str, AfterValidator(_postgres_url)]
# An AMQP URL (`amqp://` or `amqps://`).
AmqpUrl = Annotated[str, AfterValidator(_amqp_url)]
# An HTTP(S) base address, without a trailing slash.
HttpUrl = Annotated[str, AfterValidator(_http_url)]

S = TypeVar("S", bound=BaseSettings)


def describe_error(settings_class: type[BaseSettings], error: ValidationError) -> str:
    """One line naming the first variable that was wrong and why, with no secret value."""
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "?"
    prefix = str(settings_class.model_config.get("env_prefix") or "")
    variable = (prefix + field).upper()
    if first["type"] == "missing":
        return f"{variable} is required but not set"
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{variable} is invalid: {message}"


def load(settings_class: type[S]) -> S:
    """Build settings from the environment, or exit 2 with one line that names the variable."""
    try:
        return settings_class()
    except ValidationError as exc:
        print(f"configuration error: {describe_error(settings_class, exc)}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None
