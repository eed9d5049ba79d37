"""RabbitMQ names and their idempotent declarations (whichever process starts first)."""

from __future__ import annotations

from typing import Any

# Direct exchange the producer publishes usage events to, routing key = event kind.
EVENTS_EXCHANGE = "usage_events"
# Quorum queue the consumers read usage events from.
EVENTS_QUEUE = "usage_events"
# Fanout exchange for events that cannot be stored (reason in the headers).
DEAD_LETTER_EXCHANGE = "usage_events.dead_letter"
# Quorum queue holding dead-lettered events until an operator replays them.
DEAD_LETTER_QUEUE = "usage_events.dead_letters"
# Report requests (contract): durable, reached through the default exchange. Declared as a
# plain durable classic queue with no arguments, so that clients declaring it the way the
# contract describes (durable=True) get an equivalent declaration, never a 406.
REPORT_REQUESTS_QUEUE = "usage_report_requests"
# Redeliveries after which the broker dead-letters a message that keeps killing consumers.
EVENTS_DELIVERY_LIMIT = 20
# Header carrying why a message was dead-lettered.
REASON_HEADER = "x-paas-billing-reason"


def declare_events(channel: Any) -> None:
    """Declare the events exchange and queue and the dead-letter route (idempotent)."""
    channel.exchange_declare(exchange=DEAD_LETTER_EXCHANGE, exchange_type="fanout", durable=True)
    channel.queue_declare(
        queue=DEAD_LETTER_QUEUE, durable=True, arguments={"x-queue-type": "quorum"}
    )
    channel.queue_bind(queue=DEAD_LETTER_QUEUE, exchange=DEAD_LETTER_EXCHANGE)
    channel.exchange_declare(exchange=EVENTS_EXCHANGE, exchange_type="direct", durable=True)
    channel.queue_declare(
        queue=EVENTS_QUEUE,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-delivery-limit": EVENTS_DELIVERY_LIMIT,
        },
    )
    for kind in ("app", "service"):
        channel.queue_bind(queue=EVENTS_QUEUE, exchange=EVENTS_EXCHANGE, routing_key=kind)


def declare_reports(channel: Any) -> None:
    """Declare the report request queue (idempotent)."""
    channel.queue_declare(queue=REPORT_REQUESTS_QUEUE, durable=True)
