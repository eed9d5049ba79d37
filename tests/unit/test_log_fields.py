"""The same fact has the same field name in every process's logs, and every log line is JSON
when not on a terminal, the standard library's records included."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import orjson
import structlog

from shared import logging as shared_logging

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "producer", "consumer", "reporter", "tenant_api", "paas_billing")
# Names once used for "seconds until the next attempt"; the one name is `retry_in_s`.
RETIRED = re.compile(r"\b(retry_in|wait_seconds|retry_in_seconds|wait_s)=")


def test_the_wait_before_a_retry_is_retry_in_s_everywhere() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if RETIRED.search(line)
    ]
    assert found == []


def test_standard_library_records_are_json_lines_with_the_same_fields() -> None:
    out = io.StringIO()
    shared_logging.configure("INFO", stream=out, json=True)
    logging.getLogger("pika.adapters").critical("lost amqp://user:hunter2@rabbit/%2f")
    structlog.get_logger().warning("broker_unavailable", retry_in_s=1.5)
    first, second = (orjson.loads(line) for line in out.getvalue().splitlines())
    assert first["level"] == "critical" and first["logger"] == "pika.adapters"
    assert "hunter2" not in first["event"] and "timestamp" in first
    assert second["event"] == "broker_unavailable" and second["retry_in_s"] == 1.5
    assert set(first) >= {"event", "level", "timestamp"} <= set(second)
