"""The consumer's RabbitMQ: deliveries in; acks, requeues and dead letters out.

One blocking connection, owned by the broker thread: a channel that consumes the events
queue within the prefetch window (each delivery read whole, `shared.amqp_frames`) and a
confirm channel for dead letters. pika errors are translated here: a lost connection or
channel is BrokerUnavailable, a dead letter the broker refused is PublishFailed. The one
call that other threads may make is `call_soon` (pika connections are not thread-safe).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import structlog

from consumer import dead_letters
from consumer.delivery import Delivery, Rejected
from shared import amqp, errors, topology

log = structlog.get_logger()


class Broker:
    """The consumer's connection; open() again after any BrokerUnavailable."""

    def __init__(self, amqp_url: str, prefetch: int, *, hand_written: bool | None = None) -> None:
        """`hand_written` forces whole-delivery reading on or off (tests); None decides by
        the pika version."""
        self._url = amqp_url
        self._prefetch = prefetch
        self._hand_written = hand_written
        self._connection: amqp.Connection = None
        self._channel: amqp.Channel = None
        self._confirm_channel: amqp.Channel = None
        self._consumer_tag: str | None = None
        # Deliveries received and not yet taken, in delivery order.
        self.received: deque[Delivery] = deque()

    @property
    def connected(self) -> bool:
        """True while consuming on an open connection."""
        connection = self._connection  # read once: the health check runs on another thread
        return self._consumer_tag is not None and connection is not None and connection.is_open

    def open(self) -> None:
        """Connect, declare the topology and start consuming; raise BrokerUnavailable."""
        self.close()
        self._connection = amqp.connect(
            self._url,
            name="paas-billing-consumer",
            whole_deliveries=True,
            hand_written=self._hand_written,
        )
        with _translated("opening the consumer's channels"):
            channel = self._connection.channel()
            topology.declare_events(channel)
            channel.basic_qos(prefetch_count=self._prefetch)
            self._confirm_channel = dead_letters.open_channel(self._connection)
            self._channel = channel
            self._consumer_tag = channel.basic_consume(
                topology.EVENTS_QUEUE, on_message_callback=self._on_message
            )
        log.info("consuming", queue=topology.EVENTS_QUEUE, prefetch=self._prefetch)

    def poll(self, seconds: float) -> None:
        """Serve the connection for up to `seconds`: deliveries arrive in `received`, and
        callbacks from `call_soon` run here."""
        with _translated("reading from RabbitMQ"):
            self._connection.process_data_events(time_limit=seconds)

    def ack_through(self, tag: int) -> None:
        """Acknowledge every delivery up to `tag` (multiple=True)."""
        with _translated("acknowledging deliveries"):
            self._channel.basic_ack(delivery_tag=tag, multiple=True)

    def requeue_through(self, tag: int) -> None:
        """Hand every delivery up to `tag` back to the queue."""
        with _translated("handing deliveries back"):
            self._channel.basic_nack(delivery_tag=tag, multiple=True, requeue=True)

    def dead_letter(self, rejected: Rejected, now: datetime) -> None:
        """Publish to the dead-letter exchange and wait for the confirm; raise PublishFailed
        when the broker refuses it, BrokerUnavailable when the connection is gone."""
        dead_letters.publish(self._confirm_channel, rejected, now)

    def stop_consuming(self) -> None:
        """No more deliveries: what is requeued from now on does not come back here."""
        if self._consumer_tag is not None:
            with _translated("cancelling the consumer"):
                self._channel.basic_cancel(self._consumer_tag)

    def call_soon(self, callback: Callable[[], None]) -> None:
        """Run `callback` on the broker thread during a poll (from any thread); raise
        BrokerUnavailable when the connection is gone (its deliveries come back anyway)."""
        with _translated("handing a result to the broker thread"):
            self._connection.add_callback_threadsafe(callback)

    def close(self) -> None:
        """Close the connection quietly; unacked deliveries go back to the queue."""
        amqp.close_quietly(self._connection)
        self._connection = self._channel = self._confirm_channel = None
        self._consumer_tag = None
        self.received.clear()

    def _on_message(
        self, _channel: amqp.Channel, method: Any, properties: amqp.Properties, body: bytes
    ) -> None:
        self.received.append(Delivery(method.delivery_tag, method.routing_key, properties, body))


@contextmanager
def _translated(doing: str) -> Iterator[None]:
    """Translate pika's connection and channel errors into BrokerUnavailable."""
    try:
        yield
    except amqp.CONNECTION_ERRORS as exc:
        raise errors.BrokerUnavailable(f"{doing} failed: {exc!r}") from exc
