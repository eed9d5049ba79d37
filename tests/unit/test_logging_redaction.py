"""No token, password, client secret or credentialed URL reaches a log line."""

from __future__ import annotations

import io

import orjson
import structlog

from shared import logging as shared_logging


def _log_line(**values: object) -> str:
    stream = io.StringIO()
    shared_logging.configure("DEBUG", stream=stream, json=True)
    structlog.get_logger().info("something_happened", **values)
    structlog.reset_defaults()
    return stream.getvalue()


def test_logging_hides_url_passwords() -> None:
    line = _log_line(url="amqp://billing:s3cr3t@rabbit:5672/%2f", dsn="postgres://u:pw1@db/x")
    assert "s3cr3t" not in line
    assert "pw1" not in line
    assert "amqp://billing:***@rabbit" in line


def test_logging_hides_secret_keys_and_bearer_tokens() -> None:
    line = _log_line(
        token="eyJhbGciOi.abc.def",
        client_secret="topsecret",
        header="Authorization: bearer eyJhbGciOiJSUzI1NiJ9.payload.sig",
        nested={"password": "pa55", "refresh_token": "rt-1"},
    )
    for secret in ("eyJhbGciOi", "topsecret", "pa55", "rt-1"):
        assert secret not in line
    assert orjson.loads(line)["event"] == "something_happened"


def test_logging_keeps_ordinary_values() -> None:
    line = _log_line(guid="b32241a5-5508-4d42-893c-360e42a300b6", count=3)
    assert orjson.loads(line)["count"] == 3
    assert "b32241a5" in line
