"""Sending replies: on a connection of their own, confirmed, and never retried forever.

A reply goes wherever the request's `reply_to` says, so the broker's answer to it is the
requester's doing: a queue that rejects messages nacks it, a reply over the broker's
`max_message_size` closes the channel, and a forged direct reply-to address
(`amq.rabbitmq.reply-to.<garbage>`) makes RabbitMQ close the whole connection. Published on
the connection the request came in on, each of these took the request back to the queue,
to be delivered and refused again, and no other request was answered. Here every reply goes
out on a second connection: whatever the broker does to it, the request connection stays up
and the request is acked; a reply that cannot be delivered is dropped and said so.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pika
import pika.exceptions
import structlog

from shared import amqp, errors
from shared.messages import CONTENT_TYPE

log = structlog.get_logger()

# Failures of the reply connection: the reply was not sent.
LOST: tuple[type[BaseException], ...] = (errors.BrokerUnavailable, *amqp.CONNECTION_ERRORS)
# RabbitMQ's direct reply-to pseudo-queue: the broker returns a mandatory message addressed
# to it as unroutable even when it delivers it, so such replies go without `mandatory`.
DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"


class Sent(StrEnum):
    """What became of a reply."""

    DELIVERED = "delivered"  # confirmed by the broker
    UNROUTABLE = "unroutable"  # no queue of that name: returned
    REFUSED = "refused"  # nacked, or the broker closed the channel or connection over it
    LOST = "lost"  # the reply connection failed (or could not be made): not sent


class Replier:
    """Publishes replies on a connection of its own, made when first needed."""

    def __init__(self, amqp_url: str) -> None:
        self._url = amqp_url
        self._connection: pika.BlockingConnection | None = None
        self._channel: Any = None

    def send(self, reply_to: str, correlation_id: Any, body: bytes) -> tuple[Sent, str]:
        """Publish one reply with confirms: what became of it, and the broker's words."""
        properties = pika.BasicProperties(
            correlation_id=correlation_id,
            content_type=CONTENT_TYPE,
            delivery_mode=pika.DeliveryMode.Persistent,
        )
        try:
            channel = self._open_channel()
            channel.basic_publish(
                exchange="",
                routing_key=reply_to,
                body=body,
                properties=properties,
                mandatory=not reply_to.startswith(DIRECT_REPLY_TO),
            )
        except pika.exceptions.UnroutableError:
            return Sent.UNROUTABLE, "no queue of that name"
        except pika.exceptions.NackError:
            return Sent.REFUSED, "the broker nacked it"
        except (
            pika.exceptions.ChannelClosedByBroker,
            pika.exceptions.ConnectionClosedByBroker,
        ) as exc:
            self.close()
            return Sent.REFUSED, f"the broker closed the reply {_what(exc)}: {exc}"
        except LOST as exc:
            self.close()
            return Sent.LOST, f"{type(exc).__name__} {exc}".strip()
        return Sent.DELIVERED, ""

    def keep_alive(self) -> None:
        """Answer the broker's heartbeats on the reply connection, if there is one."""
        if self._connection is None:
            return
        try:
            self._connection.process_data_events(time_limit=0)
        except amqp.CONNECTION_ERRORS as exc:
            log.info("reply_connection_lost", error=f"{type(exc).__name__} {exc}")
            self.close()

    def close(self) -> None:
        amqp.close_quietly(self._connection)
        self._connection = None
        self._channel = None

    def _open_channel(self) -> Any:
        if self._connection is None or not self._connection.is_open:
            self.close()
            self._connection = amqp.connect(self._url, name="paas-billing-reporter-replies")
        if self._channel is None or not self._channel.is_open:
            self._channel = self._connection.channel()
            self._channel.confirm_delivery()
        return self._channel


def _what(exc: BaseException) -> str:
    return "channel" if isinstance(exc, pika.exceptions.ChannelClosedByBroker) else "connection"
