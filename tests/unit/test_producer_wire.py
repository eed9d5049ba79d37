"""The hand-built publish frames and body equal what pika and the message model produce."""

from __future__ import annotations

import pika
import pika.frame
import pika.spec
import pytest

from producer import wire
from shared.messages import UsageEventMessage
from shared.states import ApiVersion, EventKind


def message(size: int) -> UsageEventMessage:
    guid = "985c09c5-bf5a-44eb-a260-41c532dc0f1d"
    return UsageEventMessage(
        foundation="eu-west",
        kind=EventKind.SERVICE,
        api_version=ApiVersion.V3,
        sequence=12345678901,
        guid=guid,
        resource={"guid": guid, "padding": "é" * size, "n": None, "nested": {"a": [1, 2.5]}},
    )


def pika_frames(channel: int, msg: UsageEventMessage, max_body: int) -> bytes:
    payload = msg.to_body()
    properties = pika.BasicProperties(
        delivery_mode=2, content_type="application/json", message_id=msg.guid
    )
    method = pika.spec.Basic.Publish(
        exchange="usage_events", routing_key=msg.kind.value, mandatory=True
    )
    out = [
        pika.frame.Method(channel, method).marshal(),
        pika.frame.Header(channel, len(payload), properties).marshal(),
    ]
    for start in range(0, len(payload), max_body):
        out.append(pika.frame.Body(channel, payload[start : start + max_body]).marshal())
    return b"".join(out)


@pytest.mark.parametrize("size", [0, 10, 5000])
def test_wire_body_equals_the_message_models_body(size: int) -> None:
    msg = message(size)
    assert wire.body(msg) == msg.to_body()
    assert UsageEventMessage.from_body(wire.body(msg)) == msg


@pytest.mark.parametrize(("size", "max_body"), [(10, 131064), (5000, 1000), (5000, 4096)])
def test_wire_frames_equal_pikas_marshalling(size: int, max_body: int) -> None:
    msg = message(size)
    mine = wire.publish_method(7, "usage_events", msg.kind.value) + b"".join(
        wire.content(7, wire.body(msg), msg.guid, max_body)
    )
    assert mine == pika_frames(7, msg, max_body)


def test_wire_body_covers_every_field_of_the_message_model() -> None:
    assert set(UsageEventMessage.model_fields) == {
        "schema_version",
        "foundation",
        "kind",
        "api_version",
        "sequence",
        "guid",
        "resource",
    }
