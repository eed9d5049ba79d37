"""Writing frames: the producer's basic.publish frames, built directly and written at once.

pika builds every frame through several layers of Python objects and hands each frame (three
per message) to its own socket write. `content` builds the same bytes directly (a unit test
holds them equal to pika's own marshalling), and `PublishingConnection.emit` writes the
frames of a whole page in one call.
"""

from __future__ import annotations

import struct
from functools import lru_cache

import pika.frame
import pika.spec

from shared import messages
from shared.amqp_frames import layout
from shared.amqp_frames.reading import LenientConnection

# Property flags for content_type, delivery_mode and message_id.
_FLAGS = (1 << 15) | (1 << 12) | (1 << 7)
# AMQP delivery mode of a message written to disk.
PERSISTENT = 2
_CONTENT_TYPE = bytes([len(messages.CONTENT_TYPE)]) + messages.CONTENT_TYPE.encode()
# The layout as module globals: content() reads them for every message.
_FRAME_START = layout.FRAME_START
_FRAME_END = bytes([layout.FRAME_END])
_FRAME_HEADER = layout.FRAME_HEADER
_FRAME_BODY = layout.FRAME_BODY
_BASIC_CLASS = layout.BASIC_CLASS
# The header frame up to its message_id: frame start, class, weight, body size, flags,
# content_type, delivery_mode and the message_id's length.
_HEADER = struct.Struct(f">BHIHHQH{len(_CONTENT_TYPE)}sBB")
# The size of a header frame's payload without its message_id.
_HEADER_SIZE = _HEADER.size - _FRAME_START.size
# The header frame's end followed by a body frame's start.
_BODY_START = struct.Struct(">cBHI")


class PublishingConnection(LenientConnection):
    """A SelectConnection that also takes pre-marshalled frames, written in one call."""

    def emit(self, pieces: list[bytes], frames: int) -> None:
        data = b"".join(pieces)
        self.bytes_sent += len(data)
        self.frames_sent += frames
        self._adapter_emit_data(data)

    @property
    def max_body(self) -> int:
        """The largest body frame the broker takes on this connection."""
        return int(self._body_max_length)


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
