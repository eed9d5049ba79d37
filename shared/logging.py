"""structlog setup: JSON lines when not on a terminal, readable otherwise, secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog

# Marks the root handler configure() installed, so that a second call replaces it.
_OURS = "_paas_billing_handler"
# Keys whose values are always secret, whatever they hold.
SECRET_KEYS = frozenset(
    {
        "password",
        "secret",
        "token",
        "access_token",
        "refresh_token",
        "client_secret",
        "authorization",
        "cf_password",
        "cf_client_secret",
        "cf_token",
    }
)
# `scheme://user:password@` in a URL: keep the user, hide the password.
_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s/]*)@", re.I
)
# `bearer <token>` or `basic <credentials>` in a header or message.
_AUTH_HEADER = re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+", re.I)
# Query parameters that carry secrets.
_SECRET_QUERY = re.compile(
    r"(?P<key>(?:access_token|refresh_token|password|client_secret)=)[^&\s]+", re.I
)


def redact_text(text: str) -> str:
    """Hide credentials in free text: URL passwords, bearer tokens, secret query values."""
    text = _URL_CREDENTIALS.sub(r"\g<scheme>\g<user>:***@", text)
    text = _AUTH_HEADER.sub(lambda m: f"{m.group(1)} ***", text)
    return _SECRET_QUERY.sub(r"\g<key>***", text)


def _redact_value(key: str, value: Any) -> Any:
    if key.lower() in SECRET_KEYS and value:
        return "***"
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, v) for v in value]
    return value


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: never let a secret reach a log line."""
    for key, value in list(event_dict.items()):
        event_dict[key] = _redact_value(key, value)
    return event_dict


def configure(level: str = "INFO", stream: TextIO | None = None, json: bool | None = None) -> None:
    """Configure structlog once, in a process's main(); the standard library's records (pika,
    uvicorn, urllib3) go through the same processors, so that every line is JSON when not on a
    terminal, with the same `event`, `level` and `timestamp` fields, secrets redacted."""
    out = stream or sys.stderr
    as_json = (not out.isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact_secrets,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
    setattr(handler, _OURS, True)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)  # libraries: warnings and worse only
    # pika logs every connection failure the loops already log and retry; keep it for crises.
    logging.getLogger("pika").setLevel(logging.CRITICAL)
