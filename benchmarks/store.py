"""PostgreSQL's cost of storing events through the consumer's writer: CPU per event.

    python benchmarks/store.py [--events 200000] [--repeat 2] [--variant NAME=SQL ...]

Fetches the whole history of `python -m simulator --events N --seed 3` (the events of
benchmarks/ingest.py) through v3 pages of 1,000, decodes each event as the consumer does,
and stores them in created_at order with `consumer.writer.Writer`, 1,000 events a batch (the
consumer's default), into a fresh clone of the migrated schema per run. Prints rows/s and
the CPU that the writer's PostgreSQL backend used per event (from /proc). Only PostgreSQL's
share and the writer's SQL are measured: no broker, no producer. Each --variant runs its SQL
on the clone first (to put back an index, say); the plain schema and the variants take turns
--repeat times, every other turn in reverse order (ABBA), because this machine's speed drifts
from one minute to the next.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from consumer import delivery
from consumer.writer import Writer
from tests.simulator import fixtures
from tests.support import services
from tests.support.pipeline import simulator
from tests.support.processes import cpu_seconds

BATCH = 1000
PAGE = 1000
KINDS = ("app", "service")


def fetch(url: str, kind: str, token: str) -> list[dict[str, Any]]:
    """Every v3 resource of one kind, in API order."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    path = f"/v3/{kind}_usage_events?per_page={PAGE}"
    found: list[dict[str, Any]] = []
    while True:
        target = path if not found else f"{path}&after_guid={found[-1]['guid']}"
        connection.request("GET", target, headers={"Authorization": f"bearer {token}"})
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"{target}: {response.status} {body[:200]!r}")
        resources = orjson.loads(body)["resources"]
        found += resources
        if len(resources) < PAGE:
            return found


def decoded(url: str) -> list[delivery.Accepted]:
    """The simulator's events as the consumer decodes them, oldest first."""
    token = fixtures.token(url)
    items: list[delivery.Accepted] = []
    for kind in KINDS:
        for sequence, resource in enumerate(fetch(url, kind, token), start=1):
            message = {
                "foundation": "default",
                "kind": kind,
                "api_version": "v3",
                "sequence": sequence,
                "guid": resource["guid"],
                "resource": resource,
            }
            result = delivery.decode(
                delivery.Delivery(len(items), kind, None, orjson.dumps(message))
            )
            assert isinstance(result, delivery.Accepted), result
            items.append(result)
    items.sort(key=lambda item: item.event.created_at)
    return items


def backend_cpu(url: str) -> float:
    """CPU seconds of the writer's backend (Linux /proc)."""
    conn = psycopg2.connect(url)
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'paas-billing-consumer'"
            " AND datname = current_database()"
        )
        rows = cursor.fetchall()
    conn.close()
    assert len(rows) == 1, rows
    return cpu_seconds(int(rows[0][0]))


def run(name: str, sql: str, items: list[delivery.Accepted], admin: str, template: str) -> None:
    with services.cloned_database(admin, template) as url:
        if sql:
            conn = psycopg2.connect(url)
            with conn, conn.cursor() as cursor:
                cursor.execute(sql)
            conn.close()
        # The writer connects on its first write: the backend's CPU is its whole life, whose
        # start (and staging tables) costs milliseconds, nothing per event.
        writer = Writer(url)
        cpu_before = 0.0
        started = time.perf_counter()
        for start in range(0, len(items), BATCH):
            result = writer.write(items[start : start + BATCH])
            assert not result.refused, result.refused[:3]
        elapsed = time.perf_counter() - started
        cpu = backend_cpu(url) - cpu_before
        writer.close()
    print(
        f"{name}: {len(items)} events in {elapsed:.2f}s = {len(items) / elapsed:,.0f} events/s;"
        f" PostgreSQL backend {cpu / len(items) * 1e6:.1f} us per event",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--variant", action="append", default=[], help="NAME=SQL run on the clone first"
    )
    args = parser.parse_args()
    variants = [("schema", "")] + [tuple(v.split("=", 1)) for v in args.variant]
    admin = os.environ.get("DATABASE_URL", services.LOCAL_POSTGRES)
    with (
        services.template_database(admin) as template,
        simulator(seed=3, events=args.events, log_level="warning") as sim,
    ):
        items = decoded(sim.url)
        for turn in range(args.repeat):
            # ABBA: every other turn runs the variants in reverse, so a steady drift of the
            # machine's speed falls on all of them alike.
            for name, sql in variants if turn % 2 == 0 else variants[::-1]:
                run(name, sql, items, admin, template)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
