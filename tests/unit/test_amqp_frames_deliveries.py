"""DeliveryConnection (shared.amqp_frames) reads the same deliveries as pika's own path.

Random streams of frames (deliveries with random properties and bodies, bodies split over
several frames, basic.get-ok content, heartbeats, deliveries for an unknown consumer or
channel) are cut into random chunks and fed to a stock pika connection and to
DeliveryConnection. Once the whole stream is read, what reached the consumers, the byte and
frame counters and the bytes left over must be the same; a stream cut short must deliver
the same messages and keep every byte it has not counted for the next read.
"""

from __future__ import annotations

from typing import Any

import pika
import pika.callback
import pika.channel
import pika.frame
import pika.spec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pika.adapters.select_connection import SelectConnection

from shared.amqp_frames.reading import DeliveryConnection

CONSUMER_TAG = "ctag-1"
OPEN_CHANNELS = (1, 2)
UNKNOWN_CHANNEL = 9

short_text = st.text(alphabet="abcé-_.:/0", max_size=20)
properties = st.builds(
    pika.spec.BasicProperties,
    content_type=st.none() | short_text,
    content_encoding=st.none() | short_text,
    headers=st.none()
    | st.dictionaries(short_text, st.integers(-(2**31), 2**31 - 1) | short_text, max_size=3),
    delivery_mode=st.none() | st.sampled_from([1, 2]),
    priority=st.none() | st.integers(0, 9),
    correlation_id=st.none() | short_text,
    message_id=st.none() | short_text,
    timestamp=st.none() | st.integers(0, 2**40),
)


@st.composite
def content(draw: st.DrawFn) -> list[bytes]:
    """The frames of one message: a delivery (mostly) or a basic.get-ok, header, body."""
    channel = draw(st.sampled_from((*OPEN_CHANNELS, UNKNOWN_CHANNEL)))
    body = draw(st.binary(max_size=300))
    method: Any
    if draw(st.integers(0, 9)):
        method = pika.spec.Basic.Deliver(
            consumer_tag=draw(st.sampled_from([CONSUMER_TAG, CONSUMER_TAG, "ctag-gone"])),
            delivery_tag=draw(st.integers(1, 2**40)),
            redelivered=draw(st.booleans()),
            exchange=draw(short_text),
            routing_key=draw(short_text),
        )
    else:
        method = pika.spec.Basic.GetOk(
            delivery_tag=draw(st.integers(1, 2**40)),
            redelivered=draw(st.booleans()),
            exchange=draw(short_text),
            routing_key=draw(short_text),
            message_count=draw(st.integers(0, 1000)),
        )
    frames = [
        pika.frame.Method(channel, method).marshal(),
        pika.frame.Header(channel, len(body), draw(properties)).marshal(),
    ]
    fragment = draw(st.sampled_from([max(1, len(body)), 1, 7, 100]))
    for start in range(0, len(body), fragment):
        frames.append(pika.frame.Body(channel, body[start : start + fragment]).marshal())
    return frames


@st.composite
def stream(draw: st.DrawFn) -> tuple[bytes, list[int], int]:
    """Frames joined, the points at which reads split them, and how many bytes to leave off."""
    parts = draw(
        st.lists(
            content() | st.just([pika.frame.Heartbeat().marshal()]),
            max_size=12,
        )
    )
    data = b"".join(frame for frames in parts for frame in frames)
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=8)))
    return data, cuts, draw(st.integers(0, min(20, len(data))))


def connection(cls: type[SelectConnection]) -> tuple[SelectConnection, list[Any]]:
    """A connection with open channels and a consumer on each, not attached to a socket."""
    conn = cls.__new__(cls)
    conn.callbacks = pika.callback.CallbackManager()
    conn._frame_buffer = b""
    conn._channels = {}
    conn.bytes_received = conn.frames_received = 0
    conn._heartbeat_checker = None
    # What pika's log lines name (a delivery on a channel that is not open is logged).
    conn.connection_state = conn.CONNECTION_OPEN
    conn._transport = None
    conn.params = pika.ConnectionParameters()
    received: list[Any] = []
    for number in OPEN_CHANNELS:
        channel = pika.channel.Channel(conn, number, lambda _ch: None)

        def on_message(ch: Any, method: Any, props: Any, body: bytes) -> None:
            received.append(("deliver", ch.channel_number, vars(method), vars(props), body))

        def on_get(ch: Any, method: Any, props: Any, body: bytes) -> None:
            received.append(("get", ch.channel_number, vars(method), vars(props), body))

        channel._consumers[CONSUMER_TAG] = on_message
        channel._on_getok_callback = on_get
        conn._channels[number] = channel
    return conn, received


def feed(cls: type[SelectConnection], data: bytes, cuts: list[int]) -> tuple[Any, ...]:
    conn, received = connection(cls)
    for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
        if end > start:
            conn._on_data_available(data[start:end])
    return received, conn.bytes_received, conn.frames_received, bytes(conn._frame_buffer)


@settings(max_examples=300, deadline=None)
@given(stream())
def test_deliveries_read_whole_equal_pikas_frame_by_frame_reading(
    case: tuple[bytes, list[int], int],
) -> None:
    data, cuts, _ = case
    assert feed(DeliveryConnection, data, cuts) == feed(SelectConnection, data, cuts)


@settings(max_examples=200, deadline=None)
@given(stream())
def test_a_stream_cut_short_delivers_the_same_and_keeps_the_rest(
    case: tuple[bytes, list[int], int],
) -> None:
    """A delivery not all read is held back whole (pika consumes its first frames)."""
    data, cuts, short = case
    data = data[: len(data) - short]
    cuts = [cut for cut in cuts if cut <= len(data)]
    fast = feed(DeliveryConnection, data, cuts)
    stock = feed(SelectConnection, data, cuts)
    assert fast[0] == stock[0]
    for _received, bytes_received, _frames, left in (fast, stock):
        assert bytes_received + len(left) == len(data)
        assert left == data[bytes_received:]


def test_a_delivery_arrives_once_all_its_frames_have() -> None:
    body = b'{"x": 1}'
    frames = b"".join(
        [
            pika.frame.Method(
                1, pika.spec.Basic.Deliver(CONSUMER_TAG, 7, False, "ex", "app")
            ).marshal(),
            pika.frame.Header(
                1, len(body), pika.spec.BasicProperties(delivery_mode=2, message_id="m")
            ).marshal(),
            pika.frame.Body(1, body).marshal(),
        ]
    )
    conn, received = connection(DeliveryConnection)
    conn._on_data_available(frames[:-1])
    assert received == []
    conn._on_data_available(frames[-1:])
    assert [
        (kind, method["delivery_tag"], props["message_id"], got)
        for kind, _, method, props, got in received
    ] == [("deliver", 7, "m", body)]
    assert conn._frame_buffer == b""


def test_a_frame_with_a_bad_end_marker_is_refused_as_pika_refuses_it() -> None:
    frame = bytearray(
        pika.frame.Method(1, pika.spec.Basic.Deliver(CONSUMER_TAG, 1, False, "ex", "app")).marshal()
    )
    frame[-1] = 0
    conn, _ = connection(DeliveryConnection)
    with pytest.raises(pika.exceptions.InvalidFrameError):
        conn._on_data_available(bytes(frame) + pika.frame.Heartbeat().marshal() * 3)
