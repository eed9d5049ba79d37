"""Content-header properties that pika cannot decode arrive readable in part, not as a crash.

A message whose properties pika cannot decode (a header of AMQP timestamp type holding 2^62,
a field type it does not know, a table nested too deep) used to raise out of the frame
reader, which dropped the connection; the broker then delivered the same message again,
forever. Decoded here instead, such a message arrives with `UnreadableProperties`: every
property and header that could be read, and `unreadable(properties)` says what could not,
so the receiver sets the message aside instead of looping on it.
"""

from __future__ import annotations

import struct
from typing import Any

import pika.data
import pika.exceptions
import pika.frame
import pika.spec

from shared.amqp_frames import layout

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
        kind, channel_number, size = layout.FRAME_START.unpack_from(data)
        if kind != layout.FRAME_HEADER or size < layout.CONTENT_HEADER.size:
            raise
        class_id, _weight, body_size = layout.CONTENT_HEADER.unpack_from(
            data, layout.FRAME_START.size
        )
        if class_id != layout.BASIC_CLASS:
            raise
        start = layout.FRAME_START.size + layout.CONTENT_HEADER.size
        frame_end = layout.FRAME_START.size + size + 1
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
