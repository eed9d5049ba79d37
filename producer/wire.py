"""The bytes a usage-event message goes out as: JSON body and AMQP basic.publish frames.

pika builds every frame through several layers of Python objects, which was most of the
producer's CPU per event. These functions build the same bytes directly (a unit test holds
them equal to pika's own marshalling) so a page is one join and one socket write.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import NamedTuple

import orjson
import pika
import pika.frame
import pika.spec

from shared.messages import CONTENT_TYPE, UsageEventMessage
from shared.states import ApiVersion, EventKind

# The schema_version of every body (UsageEventMessage's only value; a unit test holds it).
SCHEMA_VERSION = 1
# AMQP frame types and the frame-end octet.
_FRAME_HEADER = 2
_FRAME_BODY = 3
_FRAME_END = b"\xce"
# basic class id; property flags for content_type, delivery_mode and message_id.
_BASIC_CLASS = 60
_FLAGS = (1 << 15) | (1 << 12) | (1 << 7)
# AMQP delivery mode of a message written to disk.
PERSISTENT = 2
_CONTENT_TYPE = bytes([len(CONTENT_TYPE)]) + CONTENT_TYPE.encode()
# A frame's start: type, channel, size.
_FRAME_START = struct.Struct(">BHI")
# The header frame up to its message_id: frame start, class, weight, body size, flags,
# content_type, delivery_mode and the message_id's length.
_HEADER = struct.Struct(f">BHIHHQH{len(_CONTENT_TYPE)}sBB")
# The size of a header frame's payload without its message_id.
_HEADER_SIZE = _HEADER.size - _FRAME_START.size
# The header frame's end followed by a body frame's start.
_BODY_START = struct.Struct(">cBHI")


class Outgoing(NamedTuple):
    """One usage-event message to publish: UsageEventMessage's fields, the resource as JSON.

    The producer makes one per event from values that already have the model's types and
    ranges (the foundation is held to FOUNDATION_MAX_LENGTH by the settings at start-up),
    with the resource's bytes as the page held them; a test holds them to the model.
    """

    foundation: str
    kind: EventKind
    api_version: ApiVersion
    sequence: int
    guid: str
    resource: bytes


def outgoing(message: UsageEventMessage) -> Outgoing:
    """The message of a model, its resource rendered."""
    return Outgoing(
        message.foundation,
        message.kind,
        message.api_version,
        message.sequence,
        message.guid,
        orjson.dumps(message.resource),
    )


def body(message: Outgoing) -> bytes:
    """The JSON body: UsageEventMessage's, with the resource's bytes as they are.

    Byte for byte the model's `to_body()` when the resource is orjson's rendering (a unit
    test holds them equal); the fields before the resource are rendered once per stream.
    """
    head = _head(message.foundation, message.kind, message.api_version)
    guid = orjson.dumps(message.guid)
    return b'%s%d,"guid":%s,"resource":%s}' % (head, message.sequence, guid, message.resource)


@lru_cache(maxsize=64)
def _head(foundation: str, kind: EventKind, version: ApiVersion) -> bytes:
    """The body up to the sequence's digits."""
    fields = {
        "schema_version": SCHEMA_VERSION,
        "foundation": foundation,
        "kind": kind,
        "api_version": version,
    }
    return orjson.dumps(fields)[:-1] + b',"sequence":'


@lru_cache(maxsize=64)
def publish_method(channel: int, exchange: str, routing_key: str) -> bytes:
    """The basic.publish method frame (mandatory), marshalled once per destination."""
    method = pika.spec.Basic.Publish(exchange=exchange, routing_key=routing_key, mandatory=True)
    return bytes(pika.frame.Method(channel, method).marshal())


def content(channel: int, payload: bytes, message_id: str, max_body: int) -> list[bytes]:
    """Header frame (persistent, JSON, message_id) and body frames split at max_body.

    Pieces to join, not one piece per frame: a body that fits one frame (every usage event)
    takes two struct packs.
    """
    mid = message_id.encode()
    length = len(mid)
    if length > 255:
        raise ValueError(f"message_id longer than 255 bytes: {message_id[:40]}...")
    size = len(payload)
    header = _HEADER.pack(
        _FRAME_HEADER,
        channel,
        _HEADER_SIZE + length,
        _BASIC_CLASS,
        0,
        size,
        _FLAGS,
        _CONTENT_TYPE,
        PERSISTENT,
        length,
    )
    if 0 < size <= max_body:
        return [
            header,
            mid,
            _BODY_START.pack(_FRAME_END, _FRAME_BODY, channel, size),
            payload,
            _FRAME_END,
        ]
    frames = [header, mid, _FRAME_END]
    for start in range(0, size, max_body):
        chunk = payload[start : start + max_body]
        frames += (_FRAME_START.pack(_FRAME_BODY, channel, len(chunk)), chunk, _FRAME_END)
    return frames


def frame_count(size: int, max_body: int) -> int:
    """The frames of one message whose body has `size` bytes: method, header, body frames."""
    return 2 + (size + max_body - 1) // max_body
