"""Consumer throughput: publish N pre-built events, time 1 and 2 consumer processes storing them.

    python benchmarks/consume.py [--events 100000] [--consumers 1 2]

Uses DATABASE_URL / AMQP_URL as admin URLs (default: the local services), a fresh database and
vhost per run, and the real `python -m consumer` processes. Prints events/s per run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pika

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared import events, topology
from tests.support import consumer_events as ev
from tests.support import processes, services
from tests.support.processes import cpu_seconds


def publish(amqp_url: str, bodies: list[tuple[str, bytes]]) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    topology.declare_events(channel)
    props = pika.BasicProperties(content_type="application/json", delivery_mode=2)
    for routing_key, body in bodies:
        channel.basic_publish(topology.EVENTS_EXCHANGE, routing_key, body, props)
    while channel.queue_declare(topology.EVENTS_QUEUE, passive=True).method.message_count < len(
        bodies
    ):
        connection.sleep(0.1)
    connection.close()


def count(database_url: str) -> int:
    rows = ev.query(
        database_url,
        "SELECT (SELECT count(*) FROM app_usage_events) + (SELECT count(*) FROM "
        "service_usage_events)",
    )
    return int(rows[0][0])


def run(consumers: int, total: int, env_extra: dict[str, str]) -> float:
    admin_db = os.environ.get("DATABASE_URL", services.LOCAL_POSTGRES)
    admin_amqp = os.environ.get("AMQP_URL", services.LOCAL_AMQP)
    messages = [
        ev.message(i, kind="app" if i % 4 else "service", api_version="v2" if i % 3 else "v3")
        for i in range(1, total + 1)
    ]
    bodies = [(m.kind.value, events.encode(m)) for m in messages]
    with (
        services.template_database(admin_db) as template,
        services.cloned_database(admin_db, template) as database_url,
        services.fresh_vhost(services.Vhosts(admin_amqp)) as amqp_url,
    ):
        publish(amqp_url, bodies)
        env = {"DATABASE_URL": database_url, "AMQP_URL": amqp_url, "LOG_LEVEL": "WARNING"}
        env.update(env_extra)
        procs = [processes.python_module("consumer", env) for _ in range(consumers)]
        try:
            while count(database_url) == 0:
                time.sleep(0.01)
            started = time.monotonic()
            while (stored := count(database_url)) < total:
                time.sleep(0.1)
            elapsed = time.monotonic() - started
            assert stored == total
            cpu = sum(cpu_seconds(proc.pid) for proc in procs)
            for proc in procs:
                assert proc.stop() == 0, proc.logs()[-2000:]
        finally:
            for proc in procs:
                proc.close()
    print(f"  consumer CPU {cpu:.1f}s = {cpu / total * 1e6:.0f} us/event (startup included)")
    return total / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--consumers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", default="")
    parser.add_argument("--prefetch", default="")
    args = parser.parse_args()
    extra = {}
    if args.batch_size:
        extra["CONSUMER_BATCH_SIZE"] = args.batch_size
    if args.prefetch:
        extra["CONSUMER_PREFETCH"] = args.prefetch
    for consumers in args.consumers:
        rate = run(consumers, args.events, extra)
        print(f"consumers={consumers} events={args.events} {extra or ''} {rate:,.0f} events/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
