"""Reading a delivery off the wire in one step instead of three frames' worth of dispatch.

pika reads every frame on its own: it slices and copies the frame out of the buffer, copies
the rest of the buffer down, asks the callback manager whether anyone waits for it, hands it
to the channel, and the channel's content assembler collects method, header and body until
the message is whole. For the three frames of one delivery that was about half of a
consumer's pika CPU. `DeliveryConnection` recognises a complete delivery (Basic.Deliver,
its content header and one body frame, all on a known channel) where it lies in the buffer,
decodes the method and properties with pika's own decoders and hands it to the channel's
own delivery handler, which checks the consumer tag as always. Anything else (every other
method, heartbeats, a body split over several frames, anything malformed) takes pika's path
unchanged. A delivery whose frames are not all read yet waits in the buffer for the next
read, as a partial frame does in pika. A unit test holds the two paths to the same
deliveries on random frame streams cut at random points.

Both paths decode a content header's properties with `decode_properties`: a message whose
properties pika cannot decode (a header of AMQP timestamp type holding 2^62, a field type
it does not know, a table nested too deep) used to raise out of the frame reader, which
dropped the connection; the broker then delivered the same message again, forever. Such a
message now arrives with `UnreadableProperties`: every property and header that could be
read, and `unreadable(properties)` says what could not, so the receiver sets the message
aside instead of looping on it.
"""

from __future__ import annotations

import struct
from typing import Any

import pika.data
import pika.exceptions
import pika.frame
import pika.spec
from pika.adapters.select_connection import SelectConnection

# AMQP frame types and the frame-end octet.
_FRAME_METHOD = 1
_FRAME_HEADER = 2
_FRAME_BODY = 3
_FRAME_END = 0xCE
# Frame header: type, channel, payload size. Method payload starts with its 32-bit id.
_FRAME_START = struct.Struct(">BHI")
_METHOD_START = struct.Struct(">BHII")
# Content header payload: class id, weight, body size (then the property flags).
_CONTENT_HEADER = struct.Struct(">HHQ")
_DELIVER = pika.spec.Basic.Deliver.INDEX
_PROPERTIES = pika.spec.BasicProperties
# What pika's property decoders raise on bytes they cannot turn into values (a timestamp
# out of range raises OSError or OverflowError; nesting too deep, RecursionError).
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    struct.error,
    ValueError,
    OverflowError,
    OSError,
    IndexError,
    RecursionError,
    pika.exceptions.InvalidFieldTypeException,
)
# Longest description of unreadable properties (it travels in a dead-letter header).
MAX_PROBLEM_LENGTH = 300
# The basic properties in wire order: attribute, presence flag, wire type (s: short string,
# t: table, o: octet, q: 64-bit unsigned).
_FIELDS = (
    ("content_type", _PROPERTIES.FLAG_CONTENT_TYPE, "s"),
    ("content_encoding", _PROPERTIES.FLAG_CONTENT_ENCODING, "s"),
    ("headers", _PROPERTIES.FLAG_HEADERS, "t"),
    ("delivery_mode", _PROPERTIES.FLAG_DELIVERY_MODE, "o"),
    ("priority", _PROPERTIES.FLAG_PRIORITY, "o"),
    ("correlation_id", _PROPERTIES.FLAG_CORRELATION_ID, "s"),
    ("reply_to", _PROPERTIES.FLAG_REPLY_TO, "s"),
    ("expiration", _PROPERTIES.FLAG_EXPIRATION, "s"),
    ("message_id", _PROPERTIES.FLAG_MESSAGE_ID, "s"),
    ("timestamp", _PROPERTIES.FLAG_TIMESTAMP, "q"),
    ("type", _PROPERTIES.FLAG_TYPE, "s"),
    ("user_id", _PROPERTIES.FLAG_USER_ID, "s"),
    ("app_id", _PROPERTIES.FLAG_APP_ID, "s"),
    ("cluster_id", _PROPERTIES.FLAG_CLUSTER_ID, "s"),
)
# Encoded size of a table value after its type octet, per type; S, x, A and F carry theirs.
_FIXED_SIZES = {
    **dict.fromkeys(b"tbB", 1),
    **dict.fromkeys(b"Uus", 2),
    **dict.fromkeys(b"Iif", 4),
    **dict.fromkeys(b"LldT", 8),
    ord("D"): 5,
    ord("V"): 0,
}
_SIZED = frozenset(b"SxAF")


class DeliveryConnection(SelectConnection):  # type: ignore[misc]
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
                consumed, frame_value = decode_frame(data[offset:])
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

        0 when no plain delivery starts there; None when one does but is not all read yet.
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
        if class_id != pika.spec.Basic.INDEX:
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
        properties = decode_properties(
            data, header_start + _FRAME_START.size + _CONTENT_HEADER.size
        )
        self.frames_received += 3 if body_size else 2
        self.bytes_received += end - offset
        channel._on_deliver(
            pika.frame.Method(channel_number, method),
            pika.frame.Header(channel_number, body_size, properties),
            body,
        )
        return end


class UnreadableProperties(pika.spec.BasicProperties):  # type: ignore[misc]
    """Properties pika could not decode: what could be read, and `problem`, what could not."""

    def __init__(self, problem: str) -> None:
        super().__init__()
        self.problem = problem


def unreadable(properties: Any) -> str | None:
    """What could not be read of a delivery's properties; None when they were read whole."""
    if isinstance(properties, UnreadableProperties):
        return properties.problem
    return None


def decode_frame(data: bytes) -> tuple[int, Any]:
    """pika.frame.decode_frame, except that a content header whose properties pika cannot
    decode comes out with UnreadableProperties instead of raising. (pika decodes them only
    once the whole frame is read and its end octet checked.)"""
    try:
        return pika.frame.decode_frame(data)  # type: ignore[no-any-return]
    except DECODE_ERRORS:
        kind, channel_number, size = _FRAME_START.unpack_from(data)
        if kind != _FRAME_HEADER or size < _CONTENT_HEADER.size:
            raise
        class_id, _weight, body_size = _CONTENT_HEADER.unpack_from(data, _FRAME_START.size)
        if class_id != pika.spec.Basic.INDEX:
            raise
        start = _FRAME_START.size + _CONTENT_HEADER.size
        frame_end = _FRAME_START.size + size + 1
        properties = decode_properties(data[: frame_end - 1], start)
        return frame_end, pika.frame.Header(channel_number, body_size, properties)


def decode_properties(data: bytes, offset: int) -> Any:
    """Basic properties from `data` at `offset`; UnreadableProperties when pika fails."""
    properties = pika.spec.BasicProperties()
    try:
        properties.decode(data, offset)
    except DECODE_ERRORS as exc:
        return _decode_leniently(data, offset, exc)
    return properties


def _decode_leniently(data: bytes, offset: int, failure: BaseException) -> UnreadableProperties:
    """Each property on its own; a header whose value cannot be read is left out and named."""
    problems: list[str] = []
    properties = UnreadableProperties("")
    try:
        flags, offset = _flags(data, offset)
        for name, flag, wire_type in _FIELDS:
            if not flags & flag:
                continue
            value: Any
            if wire_type == "s":
                value, offset = pika.data.decode_short_string(data, offset)
            elif wire_type == "t":
                value, offset = _table(data, offset, problems)
            elif wire_type == "o":
                value, offset = data[offset], offset + 1
            else:
                value, offset = struct.unpack_from(">Q", data, offset)[0], offset + 8
            setattr(properties, name, value)
    except DECODE_ERRORS as exc:
        problems.append(f"properties past this point cannot be read ({_describe(exc)})")
    if not problems:  # pika failed where this reading did not: say what pika said
        problems.append(_describe(failure))
    properties.problem = _clip("; ".join(problems))
    return properties


def _flags(data: bytes, offset: int) -> tuple[int, int]:
    flags, word = 0, 0
    while True:
        partial = struct.unpack_from(">H", data, offset)[0]
        offset += 2
        flags |= partial << (word * 16)
        if not partial & 1:
            return flags, offset
        word += 1


def _table(data: bytes, offset: int, problems: list[str]) -> tuple[dict[Any, Any], int]:
    """A header table, entry by entry; an entry whose value cannot be read is skipped."""
    size = struct.unpack_from(">I", data, offset)[0]
    position, end = offset + 4, offset + 4 + size
    if end > len(data):
        raise struct.error(f"a header table of {size} bytes is longer than the properties")
    headers: dict[Any, Any] = {}
    while position < end:
        key, position = pika.data.decode_short_string(data, position)
        try:
            headers[key], position = pika.data.decode_value(data, position)
            continue
        except DECODE_ERRORS as exc:
            problems.append(f"header {key!r} cannot be read ({_describe(exc)})")
        skip = _value_size(data, position)
        if skip is None:
            problems.append(f"headers after {key!r} cannot be read")
            break
        position += skip
    return headers, end


def _value_size(data: bytes, position: int) -> int | None:
    """The encoded size of the table value at `position`, type octet included; None when the
    type is unknown (its end cannot be found)."""
    kind = data[position]
    if kind in _FIXED_SIZES:
        return 1 + _FIXED_SIZES[kind]
    if kind in _SIZED:
        return 5 + int(struct.unpack_from(">I", data, position + 1)[0])
    return None


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_PROBLEM_LENGTH else text[: MAX_PROBLEM_LENGTH - 1] + "…"
