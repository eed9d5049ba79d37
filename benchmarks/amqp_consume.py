"""pika's own CPU cost per delivered message: BlockingConnection, SelectConnection, the
consumer's.

    python benchmarks/amqp_consume.py [--messages 60000] [--rounds 2]

Fills a quorum queue (in a fresh vhost, deleted after) with messages the size of a usage
event, then consumes them with a callback that only counts and acks every 1,000th (multiple),
and prints the consumer's CPU (user + system, this process) per message. It isolates what the
consumer pays pika to receive a message, before any decoding or database work. The third
way is the consumer's connection (`shared.amqp.connect(whole_deliveries=True)`: a
BlockingConnection whose deliveries `shared.amqp_frames.reading.DeliveryConnection` reads a
whole message at a time).
"""

from __future__ import annotations

import argparse
import resource
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pika

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared import amqp
from tests.support import services

QUEUE = "amqp_consume_benchmark"
QUORUM = {"x-queue-type": "quorum"}
PREFETCH = 2000
ACK_EVERY = 1000
BODY = b'{"resource": "' + b"x" * 900 + b'"}'


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def fill(url: str, messages: int) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.queue_delete(QUEUE)
    channel.queue_declare(QUEUE, durable=True, arguments=QUORUM)
    properties = pika.BasicProperties(delivery_mode=2, content_type="application/json")
    for _ in range(messages):
        channel.basic_publish("", QUEUE, BODY, properties)
    while (
        channel.queue_declare(
            QUEUE, durable=True, passive=True, arguments=QUORUM
        ).method.message_count
        < messages
    ):
        connection.sleep(0.1)
    connection.close()


def blocking(url: str, messages: int) -> float:
    return consume_blocking(pika.BlockingConnection(pika.URLParameters(url)), messages)


def project(url: str, messages: int) -> float:
    return consume_blocking(amqp.connect(url, whole_deliveries=True), messages)


def consume_blocking(
    connection: pika.BlockingConnection, messages: int, queue: str = QUEUE
) -> float:
    """Receive `messages` from `queue`, acking every ACK_EVERY-th; this process's CPU seconds."""
    channel = connection.channel()
    channel.basic_qos(prefetch_count=PREFETCH)
    received = 0

    def on_message(ch: Any, method: Any, _properties: Any, _body: bytes) -> None:
        nonlocal received
        received += 1
        if received % ACK_EVERY == 0:
            ch.basic_ack(method.delivery_tag, multiple=True)

    channel.basic_consume(queue, on_message)
    started = cpu_seconds()
    while received < messages:
        connection.process_data_events(time_limit=0.2)
    spent = cpu_seconds() - started
    connection.close()
    return spent


def select(url: str, messages: int) -> float:
    received = 0

    def on_open(connection: Any) -> None:
        connection.channel(on_open_callback=on_channel)

    def on_channel(channel: Any) -> None:
        channel.basic_qos(
            prefetch_count=PREFETCH,
            callback=lambda _frame: channel.basic_consume(QUEUE, on_message),
        )

    def on_message(ch: Any, method: Any, _properties: Any, _body: bytes) -> None:
        nonlocal received
        received += 1
        if received % ACK_EVERY == 0:
            ch.basic_ack(method.delivery_tag, multiple=True)
        if received >= messages:
            ch.connection.close()

    connection = pika.SelectConnection(
        pika.URLParameters(url),
        on_open_callback=on_open,
        on_close_callback=lambda conn, _reason: conn.ioloop.stop(),
    )
    started = cpu_seconds()
    connection.ioloop.start()
    return cpu_seconds() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    ways: list[tuple[str, Callable[[str, int], float]]] = [
        ("BlockingConnection", blocking),
        ("SelectConnection", select),
        ("shared.amqp.connect(whole_deliveries=True)", project),
    ]
    print(f"pika {pika.__version__}, {args.messages} messages of {len(BODY)} bytes per run")
    vhosts = services.Vhosts(services.LOCAL_AMQP)
    with services.fresh_vhost(vhosts) as url:
        for _ in range(args.rounds):
            for name, consume in ways:
                fill(url, args.messages)
                spent = consume(url, args.messages)
                print(f"{name:19s} {spent / args.messages * 1e6:5.1f} us CPU per message")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
