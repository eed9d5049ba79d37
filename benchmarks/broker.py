"""RabbitMQ's own CPU per usage-event message, the way this project uses it, and nothing else.

    python benchmarks/broker.py [--messages 100000] [--rounds 2]

In a fresh vhost (deleted after), `producer.publisher.Publisher` declares the events
topology (quorum queue, dead-letter route) and publishes --messages v3 app events of a
simulator-sized resource in batches of 1,000, each confirmed, while a consumer on
`shared.amqp.connect(whole_deliveries=True)` receives them as `benchmarks/amqp_consume.py`
does (prefetch 2,000, an ack with `multiple` every 1,000th). Prints the CPU seconds
`beam.smp` spent per message (from /proc: the whole broker, so other users' traffic would
count too) and messages/s.
No decoding, no database: the floor the broker sets under `benchmarks/ingest.py`'s figure.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from pathlib import Path

import msgspec
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amqp_consume import consume_blocking
from ingest import broker_cpu

from producer.publisher import Publisher
from shared import amqp, events, topology
from shared.states import ApiVersion, EventKind
from tests.support import cf_resources as cf
from tests.support import services

BATCH = 1000


def run(url: str, messages: int) -> tuple[float, float]:
    """CPU seconds of the broker per message, and messages/s."""
    resource = msgspec.Raw(orjson.dumps(cf.v3_app_resource()))
    outgoing = [
        events.Message("default", EventKind.APP, ApiVersion.V3, n, str(uuid.uuid4()), resource)
        for n in range(1, messages + 1)
    ]
    publisher = Publisher(url)
    publisher.connect()  # declares the events topology
    before, started = broker_cpu(), time.perf_counter()
    consumer = threading.Thread(
        target=consume_blocking,
        args=(
            amqp.connect(url, name="broker-benchmark", whole_deliveries=True),
            messages,
            topology.EVENTS_QUEUE,
        ),
    )
    consumer.start()
    for at in range(0, messages, BATCH):
        publisher.wait(publisher.send(outgoing[at : at + BATCH]))
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
