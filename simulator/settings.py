"""Configuration: command-line flags over `SIMULATOR_*` environment variables over defaults."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.durations import Duration
from shared.settings import EXIT_CONFIG

# Prefix of the environment variables (`SIMULATOR_PORT`, `SIMULATOR_SEED`, ...).
ENV_PREFIX = "SIMULATOR_"


class Settings(BaseModel):
    """Everything the simulator is told; validated once in main()."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    api_url: str | None = None
    login_url: str | None = None
    seed: int = 1
    events: int = Field(10_000, ge=1)
    start: datetime | None = None
    days: float = Field(30.0, gt=0)
    malformed_events: int = Field(0, ge=0)
    export_truth: Path | None = None
    live_rate: float = Field(0.0, ge=0)
    late_commit_fraction: float = Field(0.05, ge=0, le=1)
    late_commit_delay: Duration = timedelta(seconds=3)
    fault_rate: float = Field(0.0, ge=0, le=1)
    token_ttl: Duration = timedelta(hours=12)
    purge_at: Duration | None = None
    prune_days: float | None = Field(None, gt=0)
    prune_interval: Duration = timedelta(minutes=1)
    client_id: str = "paas-billing"
    client_secret: str = "paas-billing-secret"  # noqa: S105 - the documented test default
    username: str = "admin"
    password: str = "admin"  # noqa: S105 - the documented test default
    users: Path | None = None
    signing_key: Path | None = None
    extra_token_keys: int = Field(0, ge=0, le=10)
    ready_file: Path | None = None
    log_level: str = "info"

    def history_start(self, now: float) -> int:
        """`--start`, or `--days` before now rounded to the second."""
        if self.start is not None:
            start = self.start if self.start.tzinfo else self.start.replace(tzinfo=UTC)
            return int(start.timestamp())
        return int(now - self.days * 86400)

    def history_end(self, now: float) -> int:
        return self.history_start(now) + int(self.days * 86400)


# (flag, help) per setting; the help names the environment variable and the default.
_HELP: dict[str, str] = {
    "host": "address to listen on",
    "port": "port to listen on; 0 picks a free one",
    "api_url": "external base URL used in v3 links and in / and /v2/info "
    "(default http://HOST:PORT)",
    "login_url": "base URL browsers reach the UAA's sign-in pages at: links.login in / and "
    "authorization_endpoint in /v2/info (default --api-url); set it when services and "
    "browsers reach the simulator by different names, as in docker compose",
    "seed": "seed of the history; the same flags give byte-identical events",
    "events": "number of events in the history (app and service tables together)",
    "start": "history start, RFC 3339 (default: --days before now, whole seconds)",
    "days": "length of the history in days",
    "malformed_events": "events with broken entities (instance_count 'many', state missing), "
    "listed in the truth under malformed_guids",
    "export_truth": "write the ground truth (what really ran) to this JSON file",
    "live_rate": "after the history, new events per second in real time (0 = off)",
    "late_commit_fraction": "fraction of live events that become visible only after "
    "--late-commit-delay",
    "late_commit_delay": "how long a late event stays invisible (Go duration, e.g. 3s)",
    "fault_rate": "fraction of usage-event list requests answered 500, 502 or 429",
    "token_ttl": "lifetime of access tokens (Go duration, e.g. 30s)",
    "purge_at": "purge and reseed both tables this long after start (Go duration)",
    "prune_days": "delete events older than this many days (keeps the newest row)",
    "prune_interval": "how often pruning runs (Go duration)",
    "client_id": "client_credentials client (authority cloud_controller.admin_read_only)",
    "client_secret": "secret of --client-id",
    "username": "user for the password grant via client 'cf' (cloud_controller.admin)",
    "password": "password of --username",
    "users": "JSON file of more users, their scopes and org/space roles (simulator/users.py)",
    "signing_key": "PEM file of the RSA key that signs tokens, kid key-1 (default: a new key)",
    "extra_token_keys": "more keys listed at /token_keys beside the signing key (rotation)",
    "ready_file": "write the base URL to this file once listening",
    "log_level": "log level; each request is logged at debug (kept off the hot path)",
}


# What a flag takes, where its name does not say it (the help names the variable).
_METAVARS = {
    "host": "ADDRESS", "port": "PORT", "api_url": "URL", "start": "TIME", "users": "FILE",
    "signing_key": "FILE", "ready_file": "FILE", "export_truth": "FILE", "log_level": "LEVEL",
    "client_id": "NAME", "username": "NAME", "client_secret": "SECRET", "password": "SECRET",
    "purge_at": "DURATION", "prune_days": "NUMBER",
}  # fmt: skip


def _metavar(name: str, default: object) -> str:
    if name in _METAVARS:
        return _METAVARS[name]
    if isinstance(default, str) and default.endswith("s") and default[:-1].isdigit():
        return "DURATION"
    return "N" if isinstance(default, int) else "NUMBER" if default is not None else "VALUE"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="paas-billing simulate",
        description="A Cloud Foundry API (v2/v3 usage events) and UAA simulator. Every flag "
        "can also be set as SIMULATOR_<FLAG> in the environment; a flag wins.",
    )
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, timedelta):
            default = f"{int(default.total_seconds())}s"
        env = ENV_PREFIX + name.upper()
        shown = "unset" if default is None else default
        p.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            default=None,
            metavar=_metavar(name, default),
            help=f"{_HELP[name]} [env {env}; default {shown}]",
        )
    return p


def load(argv: Sequence[str] | None, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from flags and environment, or exit 2 with one line naming what was wrong."""
    args = vars(parser().parse_args(argv))
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    source: dict[str, str] = {}
    for name in Settings.model_fields:
        if args.get(name) is not None:
            values[name], source[name] = args[name], "--" + name.replace("_", "-")
        elif (ENV_PREFIX + name.upper()) in env:
            values[name], source[name] = env[ENV_PREFIX + name.upper()], ENV_PREFIX + name.upper()
    try:
        return Settings(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "?"
        message = str(first["msg"]).removeprefix("Value error, ")
        print(
            f"configuration error: {source.get(name, name)} is invalid: {message}", file=sys.stderr
        )
        raise SystemExit(EXIT_CONFIG) from None
