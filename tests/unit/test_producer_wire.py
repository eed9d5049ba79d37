"""The hand-built publish frames and body equal what pika and the message model produce."""

from __future__ import annotations

import orjson
import pika
import pika.frame
import pika.spec
import pytest

from producer import wire
from shared.messages import UsageEventMessage
from shared.states import ApiVersion, EventKind

GUID = "985c09c5-bf5a-44eb-a260-41c532dc0f1d"


def message(
    size: int, kind: EventKind = EventKind.SERVICE, version: ApiVersion = ApiVersion.V3
) -> wire.Outgoing:
    resource = {"guid": GUID, "padding": "é" * size, "n": None, "nested": {"a": [1, 2.5]}}
    return wire.Outgoing(
        foundation="eu-west",
        kind=kind,
        api_version=version,
        sequence=12345678901,
        guid=GUID,
        resource=orjson.dumps(resource),
    )


def model(msg: wire.Outgoing) -> UsageEventMessage:
    return UsageEventMessage(**msg._asdict() | {"resource": orjson.loads(msg.resource)})


def pika_frames(channel: int, msg: UsageEventMessage, max_body: int) -> list[bytes]:
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
    return out


@pytest.mark.parametrize("size", [0, 10, 5000])
@pytest.mark.parametrize("kind", list(EventKind))
@pytest.mark.parametrize("version", list(ApiVersion))
def test_wire_body_equals_the_message_models_body(
    size: int, kind: EventKind, version: ApiVersion
) -> None:
    msg = message(size, kind, version)
    assert wire.body(msg) == model(msg).to_body()
    assert wire.outgoing(model(msg)) == msg
    assert UsageEventMessage.from_body(wire.body(msg)) == model(msg)


def test_wire_schema_version_is_the_message_models() -> None:
    assert UsageEventMessage.model_fields["schema_version"].default == wire.SCHEMA_VERSION


@pytest.mark.parametrize(
    ("size", "max_body"),
    [(10, 131064), (5000, 1000), (5000, 4096), (5000, -1), (5000, 0), (5000, 1)],
)
def test_wire_frames_equal_pikas_marshalling(size: int, max_body: int) -> None:
    """Frames of one body frame and of several; max_body <= 1 is relative to the body."""
    msg = message(size)
    payload = wire.body(msg)
    if max_body <= 1:
        max_body += len(payload)
    mine = wire.publish_method(7, "usage_events", msg.kind.value) + b"".join(
        wire.content(7, payload, msg.guid, max_body)
    )
    theirs = pika_frames(7, model(msg), max_body)
    assert mine == b"".join(theirs)
    assert wire.frame_count(len(payload), max_body) == len(theirs)


def test_wire_frames_of_an_empty_body_equal_pikas_marshalling() -> None:
    properties = pika.BasicProperties(
        delivery_mode=2, content_type="application/json", message_id=GUID
    )
    header = pika.frame.Header(7, 0, properties).marshal()
    assert b"".join(wire.content(7, b"", GUID, 1000)) == header
    assert wire.frame_count(0, 1000) == 2


def test_wire_body_covers_every_field_of_the_message_model() -> None:
    assert set(UsageEventMessage.model_fields) == {"schema_version", *wire.Outgoing._fields}
