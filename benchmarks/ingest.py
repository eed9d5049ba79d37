"""End-to-end ingestion: events/s from starting the producer until every event is stored.

    python benchmarks/ingest.py [--events 200000] [--runs v2:100:1 v2:100:2 v3:1000:2]

One `python -m simulator --events N` serves a fixed history to every run. Each run
(`api:fetch_limit:consumers`) gets a fresh database and vhost, starts the consumers (timing
waits until they consume), then starts `python -m producer` (client credentials,
`COLLECTOR_MIN_WAIT_TIME=0s`, `COLLECTOR_RECORD_MIN_AGE=0s`) and times from that moment to
the last stored row. The baseline is a plain COPY of the same rows (read back from the first
run) into an empty clone, in one transaction. Also prints the CPU seconds per event of the
producer and of the consumers (from /proc, start-up included) and the machine's facts and
load average, because other sessions may share these cores.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pika
import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import services
from tests.support.pipeline import TABLES, Pipeline, simulator
from tests.support.processes import cpu_seconds

# Seconds between progress polls while a run goes on.
POLL_SECONDS = 0.25
# The producer's foundation (its default): the runs' progress is read per foundation.
FOUNDATION = "default"
# Progress: the newest sequence stored of each kind, read from the (foundation, id) index in
# about a millisecond. A count(*) reads the whole table instead (tens of milliseconds of
# PostgreSQL CPU at 200k events), which four times a second took CPU from the runs measured.
PROGRESS_SQL = (
    "SELECT coalesce((SELECT max(id) FROM app_usage_events WHERE foundation = %(f)s), 0)"
    " + coalesce((SELECT max(id) FROM service_usage_events WHERE foundation = %(f)s), 0)"
)


def broker_cpu() -> float:
    """CPU seconds so far of the broker (beam.smp; all vhosts, so other users' traffic too)."""
    total = 0.0
    for pid in subprocess.run(
        ["pgrep", "-x", "beam.smp"], capture_output=True, text=True
    ).stdout.split():
        total += cpu_seconds(int(pid))
    return total


def backend_cpu(database_url: str) -> float:
    """CPU seconds of the live PostgreSQL backends connected to this database."""
    pids = query(database_url, "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                 " AND pid <> pg_backend_pid()")  # fmt: skip
    total = 0.0
    for (pid,) in pids:
        with contextlib.suppress(OSError):
            total += cpu_seconds(int(str(pid)))
    return total


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg2.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    conn.close()
    return rows


COUNT_SQL = (
    "SELECT (SELECT count(*) FROM app_usage_events) + (SELECT count(*) FROM service_usage_events)"
)


def stored(url: str) -> int:
    return int(str(query(url, COUNT_SQL)[0][0]))


def wait_stored(url: str, total: int, processes: list[Any], logs: Callable[[], str]) -> int:
    """Wait until every event is stored; returns the count.

    Each kind's sequence runs from 1, so the newest sequences summing to `total` means the
    last event of each kind is stored; from then on the rows are counted (consumers commit
    in parallel, so an earlier event may still be in flight).
    """
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            sql, params = PROGRESS_SQL, {"f": FOUNDATION}
            while True:
                assert all(p.alive() for p in processes), logs()[-3000:]
                cursor.execute(sql, params)
                row = cursor.fetchone()
                assert row is not None
                found = int(str(row[0]))
                if found >= total:
                    if sql is COUNT_SQL:
                        return found
                    sql, params = COUNT_SQL, {}
                    continue
                time.sleep(POLL_SECONDS)
    finally:
        conn.close()


def machine_facts(database_url: str, amqp_url: str) -> str:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), "?"
    )  # fmt: skip
    postgres = query(database_url, "SHOW server_version")[0][0]
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    props = connection._impl.server_properties  # pika keeps them there
    rabbit = props.get("version", b"?")
    connection.close()
    rabbit = rabbit.decode() if isinstance(rabbit, bytes) else rabbit
    return (
        f"{os.cpu_count()} cores, {model}; Python {platform.python_version()}; "
        f"PostgreSQL {postgres}; RabbitMQ {rabbit}; Linux {platform.release()}"
    )


def load() -> str:
    return "load avg " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(
    api: str,
    simulator_pid: int,
    spec: str,
    total: int,
    admin_db: str,
    template: str,
    vhosts: services.Vhosts,
    consumer_env: dict[str, str],
) -> tuple[float, dict[str, bytes]]:
    version, limit, consumers = spec.split(":")
    with (
        services.cloned_database(admin_db, template) as database_url,
        services.fresh_vhost(vhosts) as amqp_url,
        Pipeline(api, database_url, amqp_url) as pipe,
    ):
        started = pipe.start_consumers(int(consumers), **{"LOG_LEVEL": "INFO", **consumer_env})
        for consumer in started:
            deadline = time.monotonic() + 60
            while "consuming" not in consumer.logs():
                assert time.monotonic() < deadline, consumer.logs()
                time.sleep(0.05)
        before = load()
        broker_before = broker_cpu()
        simulator_before = cpu_seconds(simulator_pid)
        t0 = time.perf_counter()
        producer = pipe.start_producer(
            CF_API_VERSION=version, COLLECTOR_FETCH_LIMIT=limit, LOG_LEVEL="WARNING"
        )
        count = wait_stored(database_url, total, pipe.all_processes(), pipe.logs)
        elapsed = time.perf_counter() - t0
        producer_cpu = cpu_seconds(producer.pid)
        consumer_cpu = sum(cpu_seconds(c.pid) for c in started)
        broker_used = broker_cpu() - broker_before
        postgres_used = backend_cpu(database_url)
        simulator_used = cpu_seconds(simulator_pid) - simulator_before
        assert count == total, f"{count} rows stored for {total} events"
        codes = pipe.stop_all()
        assert set(codes.values()) <= {0}, pipe.logs()[-3000:]
        rows = dump(database_url)
    print(
        f"{version} fetch {limit} consumers {consumers}: {total} events in {elapsed:.2f}s = "
        f"{total / elapsed:,.0f} events/s; CPU per event: producer "
        f"{producer_cpu / total * 1e6:.0f} us, consumers {consumer_cpu / total * 1e6:.0f} us "
        f"(start-up included), simulator {simulator_used / total * 1e6:.0f} us, "
        f"RabbitMQ {broker_used / total * 1e6:.0f} us (whole broker), "
        f"PostgreSQL {postgres_used / total * 1e6:.0f} us (this database's backends); "
        f"{before} at start, {load()} at end",
        flush=True,
    )
    return total / elapsed, rows


def dump(database_url: str) -> dict[str, bytes]:
    """Every stored row of each table in COPY text format."""
    out = {}
    conn = psycopg2.connect(database_url)
    with conn.cursor() as cursor:
        for table in TABLES.values():
            buffer = io.BytesIO()
            cursor.copy_expert(f"COPY {table} TO STDOUT", buffer)
            out[table] = buffer.getvalue()
    conn.close()
    return out


def baseline(rows: dict[str, bytes], total: int, admin_db: str, template: str) -> float:
    """events/s of a plain COPY of the same rows into empty tables (one transaction)."""
    with services.cloned_database(admin_db, template) as database_url:
        conn = psycopg2.connect(database_url)
        t0 = time.perf_counter()
        with conn, conn.cursor() as cursor:
            for table, text in rows.items():
                cursor.copy_expert(f"COPY {table} FROM STDIN", io.BytesIO(text))
        elapsed = time.perf_counter() - t0
        conn.close()
        assert stored(database_url) == total
    print(f"baseline plain COPY: {total} rows in {elapsed:.2f}s = {total / elapsed:,.0f} rows/s")
    return total / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", nargs="+", default=["v2:100:1", "v2:100:2", "v3:1000:2"])
    parser.add_argument("--consumer-env", nargs="*", default=[], help="KEY=VALUE for consumers")
    args = parser.parse_args()
    admin_db = os.environ.get("DATABASE_URL", services.LOCAL_POSTGRES)
    admin_amqp = os.environ.get("AMQP_URL", services.LOCAL_AMQP)
    print(machine_facts(admin_db, admin_amqp))
    print(f"before the simulator: {load()}", flush=True)
    vhosts = services.Vhosts(admin_amqp)
    consumer_env = dict(item.split("=", 1) for item in args.consumer_env)
    with (
        services.template_database(admin_db) as template,
        simulator(seed=3, events=args.events, log_level="warning") as sim,
    ):
        rows: dict[str, bytes] = {}
        for spec in args.runs:
            _rate, dumped = run(
                sim.url,
                sim.process.pid,
                spec,
                args.events,
                admin_db,
                template,
                vhosts,
                consumer_env,
            )
            rows = rows or dumped
        baseline(rows, args.events, admin_db, template)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
