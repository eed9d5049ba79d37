"""Decode decisions: what is stored, what is dead-lettered and with which reason and headers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pika
import pytest

from consumer import dead_letters, delivery, writer
from consumer.settings import ConsumerSettings
from shared import db, events, topology
from shared.backoff import Backoff
from tests.support import consumer_events as ev

NOW = datetime(2026, 10, 2, tzinfo=UTC)


def _decode(body: bytes) -> delivery.Accepted | delivery.Rejected:
    return delivery.decode(delivery.Delivery(1, "app", None, body))


def _body(**changes: Any) -> bytes:
    payload = ev.as_dict(ev.message(3))
    payload.update(changes)
    return orjson.dumps(payload)


def test_decisions_accept_a_valid_v2_and_v3_message() -> None:
    for kind in ("app", "service"):
        for version in ("v2", "v3"):
            message = ev.message(4, kind=kind, api_version=version)
            result = _decode(events.encode(message))
            assert isinstance(result, delivery.Accepted)
            assert (result.event.sequence, result.event.guid) == (4, message.guid)


@pytest.mark.parametrize(
    ("body", "reason_start"),
    [
        (b"\xff\xfe", "body: not valid JSON"),
        (b"[1, 2]", "body: Expected `object` (got [1, 2])"),
        (_body(sequence=0), "sequence: Input should be greater than or equal to 1 (got 0)"),
        (_body(sequence="seven"), "sequence: Input should be a valid integer"),
        (_body(kind="route"), "kind: Invalid enum value (got 'route')"),
        (_body(extra=1), "extra: unknown field (got 1)"),
        (_body(resource={"metadata": {}, "entity": {}}), "metadata.created_at: required, missing"),
        (_body(resource={"entity": {}}), "metadata: required, missing"),
        (_body(resource=[1]), "resource: Expected `object` (got [1])"),
        (b"{" + b" " * (2 * 64 * 1024) + b"}", "body: 131074 bytes, more than the 131072"),
    ],
)
def test_decisions_reject_with_a_reason_naming_the_field(body: bytes, reason_start: str) -> None:
    result = _decode(body)
    assert isinstance(result, delivery.Rejected)
    assert result.reason.startswith(reason_start), result.reason


def test_decisions_reject_carries_what_is_known_of_the_event() -> None:
    message = ev.message(5)
    resource = ev.v2_app_resource(message.guid, memory_in_mb_per_instance=-1)
    result = _decode(_body(guid=message.guid, resource=resource))
    assert isinstance(result, delivery.Rejected)
    assert (result.foundation, result.kind, result.guid) == ("default", "app", message.guid)
    assert result.reason.startswith("memory_in_mb_per_instance:") and "-1" in result.reason


def test_decisions_reason_is_clipped() -> None:
    result = _decode(_body(kind="x" * 5000))
    assert isinstance(result, delivery.Rejected)
    assert len(result.reason) <= delivery.MAX_REASON_LENGTH


def test_dead_letter_headers_keep_the_original_and_add_the_reason() -> None:
    props = pika.BasicProperties(
        content_type="application/json", headers={"x-trace": "t"}, expiration="60000", user_id="u"
    )
    rejected = delivery.Rejected(
        delivery.Delivery(9, "service", props, b"{}"), "why", "f1", "service", "g1"
    )
    headers = dead_letters.headers_for(rejected, NOW)
    assert headers == {
        "x-trace": "t",
        topology.REASON_HEADER: "why",
        dead_letters.ROUTING_KEY_HEADER: "service",
        dead_letters.DEAD_LETTERED_AT_HEADER: NOW.isoformat(),
        dead_letters.FOUNDATION_HEADER: "f1",
        dead_letters.KIND_HEADER: "service",
        dead_letters.GUID_HEADER: "g1",
    }
    copied = dead_letters.copy_properties(props, headers)
    assert (copied.content_type, copied.delivery_mode) == ("application/json", 2)
    assert copied.expiration is None and copied.user_id is None


def test_writer_sql_columns_match_the_row_order() -> None:
    queries = db.load_queries("consumer.sql", "writer.sql")
    for name in ("copy_app", "copy_service", "copy_app_new", "copy_service_new"):
        listed = queries[name].split("(", 1)[1].split(")", 1)[0]
        names = tuple(part.strip() for part in listed.split(","))
        assert names == writer.COLUMNS


def test_backoff_grows_with_jitter_up_to_the_maximum() -> None:
    import random

    waits = Backoff(cap=2.0, base=0.1, rng=random.Random(1))
    drawn = [waits.next_delay() for _ in range(10)]
    assert 0.05 <= drawn[0] <= 0.1
    assert all(1.0 <= wait <= 2.0 for wait in drawn[5:])
    waits.reset()
    assert waits.next_delay() <= 0.1


def test_settings_defaults_and_go_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    monkeypatch.setenv("AMQP_URL", "amqp://u:p@h/v")
    monkeypatch.setenv("CONSUMER_BATCH_WAIT", "20ms")
    monkeypatch.delenv("METRICS_PORT", raising=False)
    config = ConsumerSettings()
    assert config.consumer_batch_wait.total_seconds() == 0.02
    assert config.metrics_port is None
    assert (config.consumer_prefetch, config.consumer_batch_size) == (2000, 1000)
