"""Dead-lettering: a message that cannot be stored goes to the dead-letter exchange, with why.

The body and the original properties and headers are kept; headers say the reason, what is
known of the event, where it was routed and when it was rejected, so an operator can list it
and replay it after a fix (`paas-billing dead-letters`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pika
import pika.exceptions

from consumer.delivery import Rejected
from shared import amqp, errors, topology

# Header naming the event's foundation, where the message said it.
FOUNDATION_HEADER = "x-paas-billing-foundation"
# Header naming the event kind (app, service), where the message said it.
KIND_HEADER = "x-paas-billing-kind"
# Header naming the event guid, where the message said it.
GUID_HEADER = "x-paas-billing-guid"
# Header with the routing key the message was first published with (replay uses it).
ROUTING_KEY_HEADER = "x-paas-billing-routing-key"
# Header with the RFC 3339 time the consumer dead-lettered the message.
DEAD_LETTERED_AT_HEADER = "x-paas-billing-dead-lettered-at"
# Every header the consumer adds; replay removes them again.
ADDED_HEADERS = (
    topology.REASON_HEADER,
    FOUNDATION_HEADER,
    KIND_HEADER,
    GUID_HEADER,
    ROUTING_KEY_HEADER,
    DEAD_LETTERED_AT_HEADER,
)


def headers_for(rejected: Rejected, now: datetime) -> dict[str, Any]:
    """The original headers plus the reason and what is known of the event."""
    headers: dict[str, Any] = dict(getattr(rejected.delivery.properties, "headers", None) or {})
    headers[topology.REASON_HEADER] = rejected.reason
    headers[ROUTING_KEY_HEADER] = rejected.delivery.routing_key
    headers[DEAD_LETTERED_AT_HEADER] = now.isoformat()
    for name, value in (
        (FOUNDATION_HEADER, rejected.foundation),
        (KIND_HEADER, rejected.kind),
        (GUID_HEADER, rejected.guid),
    ):
        if value is not None:
            headers[name] = value
    return headers


def copy_properties(properties: amqp.Properties, headers: dict[str, Any]) -> pika.BasicProperties:
    """The original properties with new headers, persistent, without expiry or user id."""
    return pika.BasicProperties(
        content_type=getattr(properties, "content_type", None),
        content_encoding=getattr(properties, "content_encoding", None),
        headers=headers,
        delivery_mode=pika.DeliveryMode.Persistent,
        priority=getattr(properties, "priority", None),
        correlation_id=getattr(properties, "correlation_id", None),
        reply_to=getattr(properties, "reply_to", None),
        message_id=getattr(properties, "message_id", None),
        timestamp=getattr(properties, "timestamp", None),
        type=getattr(properties, "type", None),
        app_id=getattr(properties, "app_id", None),
    )


def open_channel(connection: amqp.Connection) -> amqp.Channel:
    """A channel with publisher confirms, for publishing that must not be lost."""
    channel = connection.channel()
    channel.confirm_delivery()
    return channel


def publish(channel: amqp.Channel, rejected: Rejected, now: datetime) -> None:
    """Publish to the dead-letter exchange and wait for the confirm; raise PublishFailed."""
    properties = copy_properties(rejected.delivery.properties, headers_for(rejected, now))
    confirmed_publish(
        channel,
        topology.DEAD_LETTER_EXCHANGE,
        rejected.delivery.routing_key,
        rejected.delivery.body,
        properties,
    )


def confirmed_publish(
    channel: amqp.Channel,
    exchange: str,
    routing_key: str,
    body: bytes,
    properties: amqp.Properties,
) -> None:
    """basic_publish on a confirm channel, mandatory; pika errors translated."""
    try:
        channel.basic_publish(
            exchange=exchange,
            routing_key=routing_key,
            body=body,
            properties=properties,
            mandatory=True,
        )
    except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as exc:
        raise errors.PublishFailed(
            f"broker did not take the message for {exchange!r}: {type(exc).__name__}"
        ) from exc
    except amqp.CONNECTION_ERRORS as exc:
        raise errors.BrokerUnavailable(f"publishing to {exchange!r} failed: {exc!r}") from exc
