"""The publisher against a real RabbitMQ (fresh vhost): confirms, returns, properties.

Every test runs twice: with the frames of shared.amqp_frames (a tested pika) and with pika's
own basic_publish (what any other pika version gets).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence

import msgspec
import orjson
import pika
import pytest

from producer.publisher import Publisher
from shared import errors, events, topology
from shared.states import ApiVersion, EventKind
from tests.support import consumer_events as ev


def message(sequence: int, kind: EventKind = EventKind.APP) -> events.Message:
    guid = str(uuid.uuid4())
    resource = {"metadata": {"guid": guid, "created_at": "2026-01-01T00:00:00Z"}, "entity": {}}
    raw = msgspec.Raw(orjson.dumps(resource))
    return events.Message("default", kind, ApiVersion.V2, sequence, guid, raw)


@pytest.fixture(params=[True, False], ids=["hand_written_frames", "pika_basic_publish"])
def publisher(amqp_url: str, request: pytest.FixtureRequest) -> Iterator[Publisher]:
    publisher = Publisher(amqp_url, hand_written=request.param)
    yield publisher
    publisher.close()


def publish(publisher: Publisher, page: Sequence[events.Message]) -> None:
    """Send a page and wait for its confirms, as the producer's runner does."""
    publisher.wait(publisher.send(page))


def drain(amqp_url: str) -> list[tuple[pika.spec.Basic.GetOk, pika.BasicProperties, bytes]]:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        got = []
        while True:
            method, properties, body = channel.basic_get(topology.EVENTS_QUEUE, auto_ack=True)
            if method is None:
                return got
            got.append((method, properties, body))
    finally:
        connection.close()


def unbind(amqp_url: str, kind: EventKind) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        connection.channel().queue_unbind(
            topology.EVENTS_QUEUE, topology.EVENTS_EXCHANGE, kind.value
        )
    finally:
        connection.close()


def test_publisher_confirms_many_messages_in_order(publisher: Publisher, amqp_url: str) -> None:
    messages = [message(i) for i in range(1, 2001)]
    for start in range(0, len(messages), 100):
        publish(publisher, messages[start : start + 100])
    got = drain(amqp_url)
    assert [p.message_id for _, p, _ in got] == [m.guid for m in messages]
    assert [ev.read(b) for _, _, b in got] == messages


def test_publisher_sets_persistent_json_properties_and_routing_key(
    publisher: Publisher, amqp_url: str
) -> None:
    sent = message(1, EventKind.SERVICE)
    publish(publisher, [sent])
    [(method, properties, body)] = drain(amqp_url)
    assert method.routing_key == "service"
    assert method.exchange == topology.EVENTS_EXCHANGE
    assert properties.delivery_mode == 2
    assert properties.content_type == "application/json"
    assert properties.message_id == sent.guid
    assert body == events.encode(sent)
    assert ev.read(body) == sent


def test_publisher_reports_unroutable_mandatory_message_as_failure(
    publisher: Publisher, amqp_url: str
) -> None:
    publisher.connect()  # declares the topology
    unbind(amqp_url, EventKind.SERVICE)
    with pytest.raises(errors.PublishFailed, match="unroutable"):
        publish(publisher, [message(1), message(2, EventKind.SERVICE), message(3)])
    # The channel is still usable for the next page.
    publish(publisher, [message(4)])


def test_publisher_reconnects_after_the_connection_is_closed(
    publisher: Publisher, amqp_url: str
) -> None:
    publish(publisher, [message(1)])
    publisher.close()
    publish(publisher, [message(2)])
    assert len(drain(amqp_url)) == 2


def test_publisher_unreachable_broker_is_broker_unavailable() -> None:
    publisher = Publisher("amqp://guest:guest@127.0.0.1:1/%2f")
    with pytest.raises(errors.BrokerUnavailable):
        publish(publisher, [message(1)])


def test_publisher_idle_keeps_the_connection_open(publisher: Publisher) -> None:
    publisher.connect()
    publisher.idle(0.2)
    assert publisher.is_open
