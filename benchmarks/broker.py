"""RabbitMQ's own CPU per usage-event message, the way this project uses it, and nothing else.

    python benchmarks/broker.py [--messages 100000] [--rounds 2]

In a fresh vhost (deleted after), `producer.publisher.Publisher` declares the events
topology (quorum queue, dead-letter route) and publishes --messages v3 app events of a
simulator-sized resource in batches of 1,000, each confirmed, while a consumer on
`shared.amqp.connect` (prefetch 2,000) receives them and acks every 1,000th with
`multiple`. Prints the CPU seconds `beam.smp` spent per message (from /proc: the whole
broker, so other users' traffic would count too) and messages/s. No decoding, no database:
this is the floor the broker sets under `benchmarks/ingest.py`'s RabbitMQ figure.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest import broker_cpu

from producer import wire
from producer.publisher import Publisher
from shared import amqp, topology
from shared.states import ApiVersion, EventKind
from tests.support import cf_resources as cf
from tests.support import services

BATCH = 1000
PREFETCH = 2000
ACK_EVERY = 1000


def consume(url: str, messages: int, ready: threading.Event) -> None:
    connection = amqp.connect(url, name="broker-benchmark")
    channel = connection.channel()
    topology.declare_events(channel)
    channel.basic_qos(prefetch_count=PREFETCH)
    received = 0

    def on_message(ch: Any, method: Any, _properties: Any, _body: bytes) -> None:
        nonlocal received
        received += 1
        if received % ACK_EVERY == 0:
            ch.basic_ack(method.delivery_tag, multiple=True)

    channel.basic_consume(topology.EVENTS_QUEUE, on_message_callback=on_message)
    ready.set()
    while received < messages:
        connection.process_data_events(time_limit=0.1)
    connection.close()


def run(url: str, messages: int) -> tuple[float, float]:
    """CPU seconds of the broker per message, and messages/s."""
    resource = orjson.dumps(cf.v3_app_resource())
    outgoing = [
        wire.Outgoing("default", EventKind.APP, ApiVersion.V3, n, str(uuid.uuid4()), resource)
        for n in range(1, messages + 1)
    ]
    ready = threading.Event()
    consumer = threading.Thread(target=consume, args=(url, messages, ready))
    consumer.start()
    assert ready.wait(30), "the consumer did not start"
    publisher = Publisher(url)
    publisher.connect()
    before, started = broker_cpu(), time.perf_counter()
    for at in range(0, messages, BATCH):
        publisher.publish_batch(outgoing[at : at + BATCH])
    consumer.join()
    elapsed, used = time.perf_counter() - started, broker_cpu() - before
    publisher.close()
    return used / messages, messages / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    vhosts = services.Vhosts(services.LOCAL_AMQP)
    for round_number in range(1, args.rounds + 1):
        with services.fresh_vhost(vhosts) as url:
            per_message, rate = run(url, args.messages)
        print(
            f"round {round_number}: {args.messages} messages, broker {per_message * 1e6:.1f} us"
            f" of CPU per message, {rate:,.0f} messages/s",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
