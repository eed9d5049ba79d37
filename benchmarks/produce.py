"""The real producer against the simulator: events/s and the producer's CPU per event.

    python benchmarks/produce.py --events 30000 [--api-version v2] [--fetch-limit 100]

Makes its own database and vhost (local PostgreSQL and RabbitMQ), starts
`python -m simulator --events N`, then `python -m producer` (client credentials, min age 0s,
min wait 0s) and times from the first saved cursor to the cursor naming the last event.
Also prints the producer's CPU seconds per event from /proc (start-up included), which the
other load on a shared machine disturbs less than wall time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.processes import cpu_seconds

ADMIN_DB = "postgresql://postgres@127.0.0.1:5432/postgres"


def admin(sql: str) -> None:
    conn = psycopg2.connect(ADMIN_DB)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(sql)
    conn.close()


def saved(url: str) -> int:
    with psycopg2.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(sequence), 0) FROM collector_cursors")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=30000)
    parser.add_argument("--api-version", default="v2")
    parser.add_argument("--fetch-limit", type=int, default=100)
    args = parser.parse_args()
    name = f"pbprod_{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", name], check=True)
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", name, "guest", ".*", ".*", ".*"], check=True
    )
    admin(f'CREATE DATABASE "{name}"')
    database_url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    ready = Path(tempfile.mkdtemp()) / "ready"
    simulator = subprocess.Popen(
        [
            *(sys.executable, "-m", "simulator", "--port", "0", "--ready-file", str(ready)),
            *("--seed", "3", "--events", str(args.events), "--log-level", "warning"),
        ],
        stdout=subprocess.DEVNULL,
    )
    producer = None
    try:
        while not (ready.exists() and ready.read_text().strip()):
            time.sleep(0.05)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CF_", "COLLECTOR_"))},
            "DATABASE_URL": database_url,
            "AMQP_URL": f"amqp://guest:guest@127.0.0.1:5672/{name}",
            "CF_API_ADDRESS": ready.read_text().strip(),
            "CF_CLIENT_ID": "paas-billing",
            "CF_CLIENT_SECRET": "paas-billing-secret",
            "CF_API_VERSION": args.api_version,
            "COLLECTOR_FETCH_LIMIT": str(args.fetch_limit),
            "COLLECTOR_RECORD_MIN_AGE": "0s",
            "COLLECTOR_MIN_WAIT_TIME": "0s",
            "LOG_LEVEL": "WARNING",
        }
        command = os.environ.get("PRODUCER_COMMAND", f"{sys.executable} -m producer").split()
        producer = subprocess.Popen(command, env=env)
        first = None
        while True:
            try:
                count = saved(database_url)
            except psycopg2.Error:
                count = 0
            if count and first is None:
                first = time.perf_counter()
            if count >= args.events:
                break
            time.sleep(0.02)
        elapsed = time.perf_counter() - (first or time.perf_counter())
        cpu = cpu_seconds(producer.pid)
        load = os.getloadavg()[0]
        print(
            f"{args.events} events ({args.api_version}, {args.fetch_limit}/page): "
            f"{elapsed:.2f}s, {args.events / elapsed:,.0f} events/s; producer CPU {cpu:.2f}s "
            f"= {cpu / args.events * 1e6:.0f} us/event incl. start-up; load avg {load:.1f}"
        )
    finally:
        if producer is not None:
            producer.terminate()
            producer.wait(30)
        simulator.terminate()
        simulator.wait(30)
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], check=True)


if __name__ == "__main__":
    main()
