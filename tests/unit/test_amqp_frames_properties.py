"""Properties pika cannot decode arrive as UnreadableProperties instead of killing the reader.

A content header with a header value pika's decoder raises on (a timestamp of 2^62, a field
type it does not know, tables nested deeper than the interpreter recurses) is read field by
field: the delivery reaches its consumer with what could be read and a description of what
could not, on the whole-delivery path and on pika's frame-by-frame path (a body in several
frames, basic.get) alike.
"""

from __future__ import annotations

import struct
from typing import Any

import pika
import pika.frame
import pika.spec
import pytest

from shared import amqp
from shared.amqp_frames.reading import DeliveryConnection, LenientConnection
from tests.support.poison import POISON_SECONDS, TimestampHeaderProperties
from tests.unit.test_amqp_frames_deliveries import CONSUMER_TAG, connection


def frames(properties: Any, body: bytes, *, fragment: int = 0, get: bool = False) -> bytes:
    method: Any = (
        pika.spec.Basic.GetOk(5, False, "ex", "app", 0)
        if get
        else pika.spec.Basic.Deliver(CONSUMER_TAG, 5, False, "ex", "app")
    )
    parts = [
        pika.frame.Method(1, method).marshal(),
        pika.frame.Header(1, len(body), properties).marshal(),
    ]
    step = fragment or len(body)
    parts += [pika.frame.Body(1, body[i : i + step]).marshal() for i in range(0, len(body), step)]
    return b"".join(parts)


class RawHeaders(pika.BasicProperties):  # type: ignore[misc]
    """Properties whose header table is given as encoded entries."""

    def __init__(self, entries: bytes, **fields: Any) -> None:
        super().__init__(headers={"x": 0x5EADBEEF5EADBEEF}, **fields)
        self.entries = entries

    def encode(self) -> list[bytes]:
        encoded = b"".join(super().encode())
        table = b"\x01x" + b"l" + struct.pack(">q", 0x5EADBEEF5EADBEEF)
        marked = struct.pack(">I", len(table)) + table
        replacement = struct.pack(">I", len(self.entries)) + self.entries
        return [encoded.replace(marked, replacement)]


def entry(key: str, value: bytes) -> bytes:
    return bytes([len(key)]) + key.encode() + value


# Both readers: the consumer's whole deliveries, and pika's own loop under every other
# receiving connection (the reporter's, the report client's, the dead-letter command's).
READERS = [DeliveryConnection, LenientConnection]


@pytest.fixture(params=READERS, ids=["whole_deliveries", "lenient"])
def reader(request: pytest.FixtureRequest) -> type[Any]:
    return request.param  # type: ignore[no-any-return]


def receive(data: bytes, reader: type[Any]) -> tuple[Any, bytes]:
    conn, received = connection(reader)
    conn._on_data_available(data)
    assert conn._frame_buffer == b""
    [(_kind, _channel, _method, props, body)] = received
    return props, body


@pytest.mark.parametrize(
    ("fragment", "get"), [(0, False), (3, False), (0, True)], ids=["whole", "split", "get"]
)
def test_a_timestamp_header_out_of_range_arrives_unreadable_with_the_rest(
    fragment: int, get: bool, reader: type[Any]
) -> None:
    properties = TimestampHeaderProperties(
        headers={"before": "a", "after": 7},
        reply_to="replies",
        correlation_id="c-1",
        delivery_mode=2,
        timestamp=1_700_000_000,
        app_id="tests",
    )
    props, body = receive(frames(properties, b'{"x": 1}', fragment=fragment, get=get), reader)
    assert body == b'{"x": 1}'
    assert props["headers"] == {"before": "a", "after": 7}
    assert (props["reply_to"], props["correlation_id"]) == ("replies", "c-1")
    assert (props["delivery_mode"], props["timestamp"], props["app_id"]) == (
        2,
        1_700_000_000,
        "tests",
    )
    assert "'x-sent-at'" in props["problem"]


def test_an_unknown_field_type_leaves_the_headers_after_it_out(reader: type[Any]) -> None:
    entries = (
        entry("good", b"S" + struct.pack(">I", 2) + b"ok")
        + entry("odd", b"Z\x00")
        + entry("lost", b"t\x01")
    )
    props, _ = receive(frames(RawHeaders(entries, message_id="m"), b"{}"), reader)
    assert props["headers"] == {"good": "ok"}
    assert props["message_id"] == "m"
    assert "'odd'" in props["problem"] and "after 'odd'" in props["problem"]


def test_a_bad_value_inside_a_nested_table_skips_only_its_entry(reader: type[Any]) -> None:
    inner = entry("when", b"T" + struct.pack(">Q", POISON_SECONDS))
    nested = b"F" + struct.pack(">I", len(inner)) + inner
    entries = entry("deep", nested) + entry("kept", b"b\x05")
    props, _ = receive(frames(RawHeaders(entries), b"{}"), reader)
    assert props["headers"] == {"kept": 5}
    assert "'deep'" in props["problem"]


def test_tables_nested_deeper_than_the_interpreter_recurses_arrive_unreadable(
    reader: type[Any],
) -> None:
    value = b"V"
    for _ in range(5000):
        table = entry("n", value)
        value = b"F" + struct.pack(">I", len(table)) + table
    props, body = receive(frames(RawHeaders(entry("deep", value)), b"{}", fragment=1), reader)
    assert body == b"{}" and props["headers"] == {}
    assert "RecursionError" in props["problem"]


def test_readable_properties_are_plain_basic_properties(reader: type[Any]) -> None:
    conn, received = connection(reader)
    conn._on_data_available(frames(pika.BasicProperties(headers={"a": 1}), b"{}"))
    assert received[0][3] == {**vars(pika.BasicProperties(headers={"a": 1}))}
    assert amqp.unreadable(pika.BasicProperties()) is None
