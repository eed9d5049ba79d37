"""`paas-billing import` of a large source: events/s, as an operator runs it.

    python benchmarks/import.py [--events 1000000] [--batch-size 5000] [--live 0]

Builds a source database laid out as the original collector's (id SERIAL, guid CHAR(36),
created_at TIMESTAMP, raw_message JSONB, an index on id), filled in SQL with `--events` v2
events over 2014-2016 (three quarters app events: process starts, scales and stops of 20,000
processes, tasks, staging; a quarter service events: creates, plan changes, deletes), then
runs the real command (`python -m paas_billing import SOURCE --batch-size N`) into a fresh
clone of the migrated schema and times it from start to exit. With `--live N`, the target
first holds N live events (2026) of the same processes, so the import goes before them (and
the span triggers recompute those processes' later spans). Prints events/s, the command's
CPU per event (from /proc via getrusage) and its PostgreSQL backends' (sampled every
0.25 s), and the load average, because other sessions may share these cores.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import collector_source, services
from tests.support.processes import cpu_seconds

# Seconds between samples of the import's PostgreSQL backends.
POLL_SECONDS = 0.25
# Processes the app events belong to.
PROCESSES = 20_000

# One v2 app entity per row number i: 60% process events (each process alternates STARTED,
# a scale, STOPPED), 20% tasks (started, then stopped 10,000 rows later), 20% staging.
APP_EVENTS = """
INSERT INTO app_usage_events (id, guid, created_at, raw_message)
SELECT i, md5(%(salt)s || 'app' || i)::uuid::text,
       %(start)s::timestamp + i * %(step)s::interval,
       jsonb_build_object(
           'state', CASE
               WHEN i %% 10 < 6
               THEN (ARRAY['STARTED', 'STARTED', 'STOPPED'])[1 + (i / %(processes)s) %% 3]
               WHEN i %% 10 < 8
               THEN (ARRAY['TASK_STARTED', 'TASK_STOPPED'])[1 + (i / 10000) %% 2]
               ELSE (ARRAY['STAGING_STARTED', 'STAGING_STOPPED'])[1 + (i / 7) %% 2] END,
           'previous_state', CASE WHEN i %% 10 < 6 THEN 'STARTED' END,
           'instance_count', 1 + i %% 3,
           'previous_instance_count', 1 + (i + 1) %% 3,
           'memory_in_mb_per_instance', (ARRAY[256, 512, 1024])[1 + i %% 3],
           'previous_memory_in_mb_per_instance', 512,
           'app_guid', CASE WHEN i %% 10 < 6
                            THEN md5('proc' || i %% %(processes)s)::uuid::text ELSE '' END,
           'app_name', CASE WHEN i %% 10 < 6 THEN 'app-' || i %% %(processes)s ELSE '' END,
           'space_guid', md5('space' || i %% %(processes)s %% 500)::uuid::text,
           'space_name', 'space-' || i %% %(processes)s %% 500,
           'org_guid', md5('org' || i %% %(processes)s %% 50)::uuid::text,
           'buildpack_guid', NULL, 'buildpack_name', NULL,
           'package_state', 'STAGED', 'previous_package_state', 'STAGED',
           'parent_app_guid', md5('app' || i %% %(processes)s)::uuid::text,
           'parent_app_name', 'app-' || i %% %(processes)s,
           'process_type', 'web',
           'task_guid', CASE WHEN i %% 10 IN (6, 7) THEN md5('task' || i %% 10000)::uuid::text END,
           'task_name', CASE WHEN i %% 10 IN (6, 7) THEN 'task-' || i %% 10000 END)
FROM generate_series(1, %(events)s) AS i
"""
# One v2 service entity per row number i: instances created, changing plan, deleted.
SERVICE_EVENTS = """
INSERT INTO service_usage_events (id, guid, created_at, raw_message)
SELECT i, md5(%(salt)s || 'service' || i)::uuid::text,
       %(start)s::timestamp + i * %(step)s::interval * 3,
       jsonb_build_object(
           'state', (ARRAY['CREATED', 'UPDATED', 'DELETED'])[1 + (i / 5000) %% 3],
           'org_guid', md5('org' || i %% 5000 %% 50)::uuid::text,
           'space_guid', md5('space' || i %% 5000 %% 500)::uuid::text,
           'space_name', 'space-' || i %% 5000 %% 500,
           'service_instance_guid', md5('inst' || i %% 5000)::uuid::text,
           'service_instance_name', 'db-' || i %% 5000,
           'service_instance_type', 'managed_service_instance',
           'service_plan_guid', md5('plan' || (i / 5000) %% 2)::uuid::text,
           'service_plan_name', 'plan-' || (i / 5000) %% 2,
           'service_guid', md5('postgres')::uuid::text, 'service_label', 'postgres',
           'service_broker_name', 'broker', 'service_broker_guid', md5('broker')::uuid::text)
FROM generate_series(1, %(events)s) AS i
"""


def fill(url: str, events: int, start: str, salt: str, step: str) -> None:
    params = {"events": events, "start": start, "salt": salt, "step": step}
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cursor:
        cursor.execute(APP_EVENTS, {**params, "events": events * 3 // 4, "processes": PROCESSES})
        cursor.execute(SERVICE_EVENTS, {**params, "events": events - events * 3 // 4})
    conn.close()


def backends(url: str) -> dict[int, float]:
    """CPU seconds so far of the import's PostgreSQL backends, by pid."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'paas-billing-import'"
                " AND datname = current_database()"
            )
            pids = [int(row[0]) for row in cursor.fetchall()]
    finally:
        conn.close()
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):  # the backend ended meanwhile
            found[pid] = cpu_seconds(pid)
    return found


def run(source: str, target: str, events: int, batch_size: int) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AMQP_URL")}
    env.update(DATABASE_URL=target, LOG_LEVEL="WARNING")
    argv = [sys.executable, "-m", "paas_billing", "import", source, "--batch-size", str(batch_size)]
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
    seen: dict[int, float] = {}
    while process.poll() is None:
        seen.update(backends(target))
        time.sleep(POLL_SECONDS)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = process.stdout.read() if process.stdout else ""
    assert process.returncode == 0, output
    client = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    print(output)
    print(
        f"{events:,} events in {elapsed:.1f} s = {events / elapsed:,.0f} events/s "
        f"(batch {batch_size:,}); import process {client / events * 1e6:.1f} us/event, "
        f"its PostgreSQL backends >= {sum(seen.values()) / events * 1e6:.1f} us/event; "
        f"load average {load:.2f} before, {os.getloadavg()[0]:.2f} after",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--live", type=int, default=0, help="live events in the target first")
    args = parser.parse_args()
    admin = os.environ.get("DATABASE_URL", services.LOCAL_POSTGRES)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
        f"Python {platform.python_version()}",
        flush=True,
    )
    with (
        collector_source.collector_database(admin) as source,
        services.template_database(admin) as template,
        services.cloned_database(admin, template) as target,
    ):
        started = time.perf_counter()
        fill(source, args.events, "2014-01-01", uuid.uuid4().hex, "60 seconds")
        if args.live:
            # The four columns into the event tables: the triggers keep the spans.
            fill(target, args.live, "2026-01-01", uuid.uuid4().hex, "5 seconds")
        print(f"source built in {time.perf_counter() - started:.1f} s", flush=True)
        run(source, target, args.events, args.batch_size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
