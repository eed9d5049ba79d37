"""The hand-built publish frames equal pika's marshalling of the same message."""

from __future__ import annotations

import msgspec
import orjson
import pika
import pika.frame
import pika.spec
import pytest

from shared import events
from shared.amqp_frames import writing
from shared.states import ApiVersion, EventKind
from tests.support import consumer_events as ev

GUID = "985c09c5-bf5a-44eb-a260-41c532dc0f1d"


def message(
    size: int, kind: EventKind = EventKind.SERVICE, version: ApiVersion = ApiVersion.V3
) -> events.Message:
    resource = {"guid": GUID, "padding": "é" * size, "n": None, "nested": {"a": [1, 2.5]}}
    raw = msgspec.Raw(orjson.dumps(resource))
    return events.Message("eu-west", kind, version, 12345678901, GUID, raw)


def pika_frames(channel: int, msg: events.Message, max_body: int) -> list[bytes]:
    payload = events.encode(msg)
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
def test_events_encode_is_read_back_as_the_same_message(
    size: int, kind: EventKind, version: ApiVersion
) -> None:
    msg = message(size, kind, version)
    body = events.encode(msg)
    assert ev.read(body) == msg
    assert orjson.loads(body)["resource"] == orjson.loads(bytes(msg.resource))
    assert orjson.loads(body)["schema_version"] == events.SCHEMA_VERSION


@pytest.mark.parametrize(
    ("size", "max_body"),
    [(10, 131064), (5000, 1000), (5000, 4096), (5000, -1), (5000, 0), (5000, 1)],
)
def test_writing_frames_equal_pikas_marshalling(size: int, max_body: int) -> None:
    """Frames of one body frame and of several; max_body <= 1 is relative to the body."""
    msg = message(size)
    payload = events.encode(msg)
    if max_body <= 1:
        max_body += len(payload)
    mine = writing.publish_method(7, "usage_events", msg.kind.value) + b"".join(
        writing.content(7, payload, msg.guid, max_body)
    )
    theirs = pika_frames(7, msg, max_body)
    assert mine == b"".join(theirs)
    assert writing.frame_count(len(payload), max_body) == len(theirs)


def test_writing_frames_of_an_empty_body_equal_pikas_marshalling() -> None:
    properties = pika.BasicProperties(
        delivery_mode=2, content_type="application/json", message_id=GUID
    )
    header = pika.frame.Header(7, 0, properties).marshal()
    assert b"".join(writing.content(7, b"", GUID, 1000)) == header
    assert writing.frame_count(0, 1000) == 2
