"""Settings building blocks: URL types, a loader that fails with one clear line, exit code 2.

DATABASE_URL and AMQP_URL are checked whole when settings load (scheme, the encoding of the
user and password, host, port, database or vhost, options), so that a malformed one stops
the process with exit 2 and one line, instead of a traceback, a wait for a server that will
never answer, or a driver's error that quotes part of the password. No error quotes them.

Each process has its own pydantic-settings class (`producer/settings.py`, ...) built once in
main() from these pieces.
"""

from __future__ import annotations

import re
import string
import sys
from typing import Annotated, NamedTuple, TypeVar
from urllib.parse import parse_qsl, urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError
from pydantic_settings import BaseSettings

from shared import amqp, db, errors

# Exit code for a missing or malformed setting, as the contract fixes it.
EXIT_CONFIG = 2


# Characters a URL's user or password may hold unencoded: RFC 3986's unreserved and
# sub-delims (and % for percent-encoding). Anything else (@ / : ? # [ ] space, non-ASCII)
# is read differently by urllib, pika and libpq, and shows part of the password in errors.
_USERINFO_SAFE = frozenset(string.ascii_letters + string.digits + "-._~!$&'()*+,;=%")
# A host name or IPv4 address, or an IPv6 address in brackets.
_HOST = re.compile(r"[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\]")
# A % that does not begin a percent-encoded byte.
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Told with every error about the user or password (never the value itself).
ENCODE_HINT = (
    "percent-encode the user and password (@ as %40, / as %2F, : as %3A, ? as %3F, "
    "# as %23, % as %25)"
)
# Told with an error about the host or port, which may be part of a password cut short.
UNENCODED_HINT = "is an @, / or : of the password not percent-encoded?"
# libpq options whose values libpq checks only when it connects (and then fails as if the
# server were unreachable, so the process would wait for it forever): their allowed values.
_LIBPQ_CHOICES = {
    "sslmode": {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"},
    "gssencmode": {"disable", "prefer", "require"},
    "channel_binding": {"disable", "prefer", "require"},
    "target_session_attrs": {
        "any", "read-write", "read-only", "primary", "standby", "prefer-standby"
    },
}  # fmt: skip
# libpq options that take a whole number.
_LIBPQ_NUMBERS = (
    "connect_timeout",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
)


class _Parts(NamedTuple):
    userinfo: str | None
    hosts: str
    path: str
    query: str


def _split(value: str, schemes: tuple[str, ...], shape: str) -> _Parts:
    """The URL's parts, checked the same way whichever library reads it later. Errors never
    quote the value: a malformed URL may hold its password anywhere."""
    if any(c.isspace() or not c.isprintable() for c in value):
        raise ValueError("holds a space or a control character (a trailing newline?)")
    scheme, separator, rest = value.partition("://")
    if not separator or scheme.lower() not in schemes:
        raise ValueError(f"must look like {shape}")
    if "#" in rest:
        raise ValueError(f"holds '#'; {ENCODE_HINT}")
    if _LONE_PERCENT.search(value):
        raise ValueError("holds a '%' that does not begin a percent-encoded byte such as %40")
    if "%00" in value:
        raise ValueError("percent-encodes a NUL character (%00)")
    end = min(i for i in (rest.find("/"), rest.find("?"), len(rest)) if i >= 0)
    authority, remainder = rest[:end], rest[end:]
    path, _, query = remainder.partition("?")
    if "@" in remainder:
        raise ValueError(f"holds an '@' after the host; {ENCODE_HINT} (and '@' elsewhere)")
    userinfo, at, hosts = authority.rpartition("@")
    if at:
        _, _, password = userinfo.partition(":")
        if ":" in password or not set(userinfo) <= _USERINFO_SAFE | {":"}:
            raise ValueError(f"the user or password holds a character to encode: {ENCODE_HINT}")
    return _Parts(userinfo if at else None, hosts, path, query)


def _check_host(host_and_port: str, required: bool) -> None:
    host, port = host_and_port, ""
    if host_and_port.startswith("["):
        host, bracket, port = host_and_port.partition("]")
        host += bracket
        if port and not port.startswith(":"):
            raise ValueError("has something other than :port after the IPv6 address")
        port = port[1:]
    elif ":" in host_and_port:
        host, _, port = host_and_port.partition(":")
    if not host and required:
        raise ValueError("names no host")
    if host and not _HOST.fullmatch(host):
        raise ValueError(f"the host is not a host name or an IP address; {UNENCODED_HINT}")
    if ":" in host_and_port and not (port.isdigit() and port.isascii() and 0 < int(port) < 65536):
        raise ValueError(f"the port must be a number from 1 to 65535; {UNENCODED_HINT}")


def _postgres_url(value: str) -> str:
    parts = _split(value, ("postgres", "postgresql"), "postgres://user:pass@host:port/db")
    for host in parts.hosts.split(","):  # libpq takes several: host1:5432,host2:5432
        _check_host(host, required=False)
    for name, option in parse_qsl(parts.query, keep_blank_values=True):
        choices = _LIBPQ_CHOICES.get(name)
        if choices is not None and option not in choices:
            raise ValueError(f"{name} must be one of {', '.join(sorted(choices))}")
        if name in _LIBPQ_NUMBERS and not (option.isdigit() and option.isascii()):
            raise ValueError(f"{name} must be a whole number")
    try:
        db.check_url(value)
    except errors.ConfigError as exc:
        raise ValueError(str(exc)) from None
    return value


def _amqp_url(value: str) -> str:
    parts = _split(value, ("amqp", "amqps"), "amqp://user:pass@host:port/vhost")
    _check_host(parts.hosts, required=True)
    if "/" in parts.path[1:]:
        raise ValueError("the vhost holds '/': write it as %2F (the vhost '/' is %2F)")
    try:
        amqp.check_url(value)
    except errors.ConfigError as exc:
        raise ValueError(str(exc)) from None
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

# Log levels LOG_LEVEL accepts, in any case.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(value: str) -> str:
    if value.strip().upper() not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
    return value.strip().upper()


def blank_is_unset(value: object) -> object:
    """An empty or blank variable (`METRICS_PORT=` in an env file) counts as not set."""
    return None if isinstance(value, str) and not value.strip() else value


# LOG_LEVEL: one of LOG_LEVELS, any case; upper-cased.
LogLevel = Annotated[str, AfterValidator(_log_level)]
# METRICS_PORT: 1..65535, or unset (absent or blank): no metrics server.
MetricsPort = Annotated[
    Annotated[int, Field(ge=1, le=65535)] | None, BeforeValidator(blank_is_unset)
]

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
