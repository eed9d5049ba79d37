"""Reading frames: pika's own loop with lenient properties, and the consumer's whole deliveries.

`LenientConnection` (every receiving connection) is pika's SelectConnection with one frame
decoder replaced: a content header whose properties pika cannot decode comes out with
`properties.UnreadableProperties` instead of raising (`shared.amqp_frames.properties`).

`DeliveryConnection` (the consumer's) reads a delivery in one step instead of three frames'
worth of dispatch. pika reads every frame on its own: it slices and copies the frame out of
the buffer, copies the rest of the buffer down, asks the callback manager whether anyone
waits for it, hands it to the channel, and the channel's content assembler collects method,
header and body until the message is whole. `DeliveryConnection` recognises a complete
delivery (Basic.Deliver, its content header and one body frame, all on a known channel)
where it lies in the buffer, decodes the method and properties with pika's own decoders and
hands it to the channel's own delivery handler, which checks the consumer tag as always.
Anything else (every other method, heartbeats, a body split over several frames, anything
malformed) takes pika's path unchanged. A delivery whose frames are not all read yet waits in
the buffer for the next read, as a partial frame does in pika.
"""

from __future__ import annotations

from typing import Any

import pika.frame
import pika.spec
from pika.adapters.select_connection import SelectConnection

from shared.amqp_frames import layout, properties

# The layout as module globals: the delivery loop reads them for every message.
_FRAME_METHOD = layout.FRAME_METHOD
_FRAME_HEADER = layout.FRAME_HEADER
_FRAME_BODY = layout.FRAME_BODY
_FRAME_END = layout.FRAME_END
_FRAME_START = layout.FRAME_START
_METHOD_START = layout.METHOD_START
_CONTENT_HEADER = layout.CONTENT_HEADER
_BASIC_CLASS = layout.BASIC_CLASS
_DELIVER = layout.DELIVER


class LenientConnection(SelectConnection):  # type: ignore[misc]
    """pika's SelectConnection, except that unreadable properties do not drop it."""

    def _read_frame(self) -> tuple[int, Any]:
        return properties.decode_frame(self._frame_buffer)


class DeliveryConnection(LenientConnection):
    """A SelectConnection that hands each whole delivery in its buffer to its channel at once."""

    def _on_data_available(self, data_in: bytes) -> None:
        pending: bytes | None = self._frame_buffer  # type: ignore[has-type]
        data = pending + data_in if pending else data_in
        self._frame_buffer = data
        offset = 0
        while True:
            end = self._deliver_at(data, offset)
            if end is None:  # wait for the rest of this delivery
                break
            if not end:
                consumed, frame_value = properties.decode_frame(data[offset:])
                if frame_value is None:
                    break
                end = offset + consumed
                self.bytes_received += consumed
                self._process_frame(frame_value)
            offset = end
            if self._frame_buffer is not data:  # the connection was reset meanwhile
                return
        self._frame_buffer = data[offset:] if offset else data

    def _deliver_at(self, data: bytes, offset: int) -> int | None:
        """Deliver the whole message at offset and return its end.

        0 when no delivery with its body in one frame starts there; None when one does but
        is not all read yet.
        """
        size = len(data)
        if size - offset < _METHOD_START.size:
            return 0
        kind, channel_number, method_size, method_id = _METHOD_START.unpack_from(data, offset)
        if kind != _FRAME_METHOD or method_id != _DELIVER:
            return 0
        channel = self._channels.get(channel_number)
        if channel is None:
            return 0
        method_end = offset + _FRAME_START.size + method_size
        header_start = method_end + 1
        if size - header_start < _FRAME_START.size:
            return None
        kind, header_channel, header_size = _FRAME_START.unpack_from(data, header_start)
        header_end = header_start + _FRAME_START.size + header_size
        if header_end >= size:
            return None
        if (
            kind != _FRAME_HEADER
            or header_channel != channel_number
            or data[method_end] != _FRAME_END
            or data[header_end] != _FRAME_END
        ):
            return 0
        class_id, _weight, body_size = _CONTENT_HEADER.unpack_from(
            data, header_start + _FRAME_START.size
        )
        if class_id != _BASIC_CLASS:
            return 0
        end: int = header_end + 1
        body = b""
        if body_size:
            body_start = header_end + 1
            if size - body_start < _FRAME_START.size:
                return None
            kind, body_channel, fragment_size = _FRAME_START.unpack_from(data, body_start)
            if kind != _FRAME_BODY or body_channel != channel_number or fragment_size != body_size:
                return 0  # a body in several frames: pika's assembler collects it
            body_end = body_start + _FRAME_START.size + fragment_size
            if body_end >= size:
                return None
            if data[body_end] != _FRAME_END:
                return 0
            body = data[body_start + _FRAME_START.size : body_end]
            end = body_end + 1
        method = pika.spec.Basic.Deliver()
        method.decode(data, offset + _METHOD_START.size)
        props = properties.decode_properties(
            data, header_start + _FRAME_START.size + _CONTENT_HEADER.size
        )
        self.frames_received += 3 if body_size else 2
        self.bytes_received += end - offset
        channel._on_deliver(
            pika.frame.Method(channel_number, method),
            pika.frame.Header(channel_number, body_size, props),
            body,
        )
        return end
