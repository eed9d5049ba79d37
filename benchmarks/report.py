"""Benchmark the reporter's arithmetic over about a million app events.

    python benchmarks/report.py [--processes 5000] [--runs 5]

Creates its own database (on DATABASE_URL's server, default the local one), migrates it,
COPYs generated events in (processes scaling/stopping over 30 days, tasks, staging,
services), then times through reporter/usage.py a one-org month report and an all-orgs month
report (median of --runs), beside a plain query over raw_message jsonb computing the same
all-orgs result (totals per resource_type), and checks both agree to 1e-9 relative. Drops
the database at the end (unless --keep).
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import platform
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reporter import answer, protocol, usage
from shared import db, migrate

WINDOW_FROM = datetime(2026, 10, 1, tzinfo=UTC)
WINDOW_TO = datetime(2026, 11, 1, tzinfo=UTC)
HISTORY_FROM = WINDOW_FROM - timedelta(days=5)
ORGS = 50
# What the generator writes: the contract's four columns and the foundation (the database
# derives the rest from raw_message).
COLUMNS = ["id", "guid", "created_at", "raw_message", "foundation"]

# The straightforward query someone would write over raw_message alone, for the same
# all-orgs result as the report: per resource_type, memory GB-hours and instance-hours of app
# processes (carried-in usage included), tasks, staging (FIFO pairs) and service instances
# (instance-hours = service hours), by the contract's arithmetic, with jsonb extraction and
# window functions over a sort (there is no index on raw_message).
JSONB_TOTALS = """
WITH ev AS (
    SELECT foundation, id, created_at,
           raw_message->>'state' AS state,
           raw_message->>'previous_state' AS previous_state,
           nullif(raw_message->>'app_guid', '') AS process_guid,
           raw_message->>'task_guid' AS task_guid,
           raw_message->>'parent_app_guid' AS parent_app_guid,
           (raw_message->>'instance_count')::int AS instances,
           (raw_message->>'memory_in_mb_per_instance')::int AS mb,
           (raw_message->>'previous_instance_count')::int AS prev_instances,
           (raw_message->>'previous_memory_in_mb_per_instance')::int AS prev_mb
    FROM app_usage_events
),
proc AS (
    SELECT *, lead(created_at) OVER w AS next_at, row_number() OVER w AS n
    FROM ev WHERE process_guid IS NOT NULL AND state IN ('STARTED', 'WAS_RUNNING', 'STOPPED')
    WINDOW w AS (PARTITION BY foundation, process_guid ORDER BY id)
),
task AS (
    SELECT *, lead(created_at) OVER w AS next_at, row_number() OVER w AS n
    FROM ev WHERE task_guid IS NOT NULL AND state IN ('TASK_STARTED', 'TASK_STOPPED')
    WINDOW w AS (PARTITION BY foundation, task_guid ORDER BY id)
),
staging AS (
    SELECT *, sum(CASE WHEN state = 'STAGING_STARTED' THEN 1 ELSE -1 END) OVER w AS c
    FROM ev WHERE state IN ('STAGING_STARTED', 'STAGING_STOPPED')
    WINDOW w AS (PARTITION BY foundation, parent_app_guid ORDER BY id)
),
staging_marked AS (
    SELECT *, least(0, min(c) OVER (PARTITION BY foundation, parent_app_guid ORDER BY id
                                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) AS floor_c
    FROM staging
),
staging_starts AS (
    SELECT *, row_number() OVER (PARTITION BY foundation, parent_app_guid ORDER BY id) AS k
    FROM staging_marked WHERE state = 'STAGING_STARTED'
),
staging_stops AS (
    SELECT *, row_number() OVER (PARTITION BY foundation, parent_app_guid ORDER BY id) AS k
    FROM staging_marked WHERE state = 'STAGING_STOPPED' AND c >= coalesce(floor_c, 0)
),
svc AS (
    SELECT foundation, id, created_at, raw_message->>'state' AS state,
           raw_message->>'service_instance_guid' AS instance_guid,
           lead(created_at) OVER w AS next_at, row_number() OVER w AS n
    FROM service_usage_events
    WHERE raw_message->>'state' IN ('CREATED', 'UPDATED', 'DELETED')
      AND raw_message->>'service_instance_type' IS DISTINCT FROM 'user_provided_service_instance'
    WINDOW w AS (PARTITION BY foundation, raw_message->>'service_instance_guid' ORDER BY id)
),
spans (resource_type, s, e, instances, mb) AS (
    SELECT 'app', created_at, coalesce(next_at, 'infinity'), instances, mb
    FROM proc WHERE state IN ('STARTED', 'WAS_RUNNING')
    UNION ALL
    SELECT 'app', '-infinity', created_at,
           coalesce(prev_instances, instances), coalesce(prev_mb, mb)
    FROM proc WHERE n = 1 AND previous_state IN ('STARTED', 'WAS_RUNNING')
    UNION ALL
    SELECT 'task', created_at, coalesce(next_at, 'infinity'), instances, mb
    FROM task WHERE state = 'TASK_STARTED'
    UNION ALL
    SELECT 'task', '-infinity', created_at, instances, mb
    FROM task WHERE n = 1 AND state = 'TASK_STOPPED'
    UNION ALL
    SELECT 'staging', a.created_at, b.created_at, a.instances, a.mb
    FROM staging_starts a JOIN staging_stops b USING (foundation, parent_app_guid, k)
    UNION ALL
    SELECT 'service', created_at, coalesce(next_at, 'infinity'), 1, 0
    FROM svc WHERE state IN ('CREATED', 'UPDATED')
    UNION ALL
    SELECT 'service', '-infinity', created_at, 1, 0
    FROM svc WHERE n = 1 AND state IN ('UPDATED', 'DELETED')
)
SELECT resource_type,
       sum(instances::numeric * mb * secs) / 1024 / 3600 AS memory_gb_hours,
       sum(instances * secs) / 3600 AS instance_hours
FROM (SELECT resource_type, instances, mb,
             extract(epoch FROM least(e, %(to)s) - greatest(s, %(from)s)) AS secs
      FROM spans WHERE least(e, %(to)s) > greatest(s, %(from)s)) clipped
GROUP BY resource_type ORDER BY resource_type
"""


def _ts(rng: random.Random, start: datetime, days: float) -> datetime:
    return start + timedelta(seconds=rng.uniform(0, days * 86400))


def app_rows(rng: random.Random, processes: int) -> Iterator[list[Any]]:
    """Rows in API order: every event gets a time, then all are sorted and numbered."""
    events: list[tuple[datetime, dict[str, Any]]] = []
    span_days = (WINDOW_TO - HISTORY_FROM).days
    for p in range(processes):
        org = f"org-{p % ORGS:04d}".ljust(36, "0")
        base = {
            "org_guid": org, "space_guid": org[:-4] + "spc0", "space_name": "prod",
            "parent_app_guid": str(uuid.UUID(int=rng.getrandbits(128))),
            "app_name": f"app-{p}", "parent_app_name": f"app-{p}", "process_type": "web",
        }  # fmt: skip
        guid = str(uuid.UUID(int=rng.getrandbits(128)))
        times = sorted(_ts(rng, HISTORY_FROM, span_days) for _ in range(170))
        running, count, memory = rng.random() < 0.7, rng.randint(1, 4), rng.choice((256, 1024))
        for t in times:
            roll = rng.random()
            state = "BUILDPACK_SET" if roll < 0.1 else ("STOPPED" if roll < 0.3 else "STARTED")
            new_count = rng.randint(1, 4) if state == "STARTED" else count
            fields = {
                **base, "process_guid": guid, "state": state,
                "previous_state": "STARTED" if running else "STOPPED",
                "instance_count": new_count, "previous_instance_count": count,
                "memory_in_mb_per_instance": memory, "previous_memory_in_mb_per_instance": memory,
            }  # fmt: skip
            events.append((t, fields))
            if state != "BUILDPACK_SET":
                running, count = state == "STARTED", new_count
        for _ in range(8):  # tasks: start then usually stop
            task = {**base, "task_guid": str(uuid.UUID(int=rng.getrandbits(128))),
                    "task_name": "job", "app_name": "", "process_type": None,
                    "instance_count": 1, "memory_in_mb_per_instance": 512}  # fmt: skip
            t = _ts(rng, HISTORY_FROM, span_days)
            events.append((t, {**task, "state": "TASK_STARTED", "previous_state": "PENDING"}))
            if rng.random() < 0.95:
                stop = t + timedelta(minutes=rng.uniform(1, 120))
                events.append((stop, {**task, "state": "TASK_STOPPED"}))
        for _ in range(2):  # staging
            stage = {**base, "app_name": "", "process_type": None, "instance_count": 1,
                     "memory_in_mb_per_instance": 1024, "previous_state": "STAGING"}  # fmt: skip
            t = _ts(rng, HISTORY_FROM, span_days)
            events.append((t, {**stage, "state": "STAGING_STARTED"}))
            stop = t + timedelta(seconds=rng.uniform(30, 600))
            events.append((stop, {**stage, "state": "STAGING_STOPPED"}))
    events.sort(key=lambda e: e[0])
    for index, (t, fields) in enumerate(events, start=1):
        entity = {k: v for k, v in fields.items() if k != "process_guid"}
        entity["app_guid"] = fields.get("process_guid") or ""
        row = {**fields, "id": index, "guid": str(uuid.UUID(int=rng.getrandbits(128))),
               "created_at": t.isoformat(), "raw_message": orjson.dumps(entity).decode(),
               "foundation": "default", "api_version": "v2"}  # fmt: skip
        yield [row.get(c) for c in COLUMNS]


def service_rows(rng: random.Random, instances: int) -> Iterator[list[Any]]:
    events: list[tuple[datetime, dict[str, Any]]] = []
    for i in range(instances):
        org = f"org-{i % ORGS:04d}".ljust(36, "0")
        base = {"org_guid": org, "space_guid": org[:-4] + "spc0", "space_name": "prod",
                "service_instance_guid": str(uuid.UUID(int=rng.getrandbits(128))),
                "service_instance_name": f"db-{i}", "service_label": "postgres",
                "service_instance_type": "managed_service_instance"}  # fmt: skip
        t = _ts(rng, HISTORY_FROM, 10)
        for state in ("CREATED", "UPDATED", "DELETED"):
            plan = rng.choice(("small", "large"))
            events.append((t, {**base, "state": state, "service_plan_guid": plan}))
            t += timedelta(days=rng.uniform(0.5, 12))
    events.sort(key=lambda e: e[0])
    for index, (t, fields) in enumerate(events, start=1):
        row = {**fields, "id": index, "guid": str(uuid.UUID(int=rng.getrandbits(128))),
               "created_at": t.isoformat(), "raw_message": orjson.dumps(fields).decode(),
               "foundation": "default", "api_version": "v2"}  # fmt: skip
        yield [row.get(c) for c in COLUMNS]


def copy(conn: Any, table: str, columns: list[str], rows: Iterator[list[Any]]) -> int:
    total = 0
    while True:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        chunk = 0
        for row in rows:
            writer.writerow(["\\N" if v is None else v for v in row])
            chunk += 1
            if chunk == 100_000:
                break
        if not chunk:
            return total
        buffer.seek(0)
        with conn.cursor() as cursor:
            cursor.copy_expert(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
                buffer,
            )
        conn.commit()
        total += chunk


def report_totals(report: protocol.Report) -> dict[str, tuple[float, float]]:
    """(memory GB-hours, instance-hours) per resource_type, exactly rounded sums."""
    found: dict[str, tuple[list[float], list[float]]] = {}
    for row in report.rows:
        memory, instances = found.setdefault(row.resource_type, ([], []))
        memory.append(row.memory_gb_hours)
        instances.append(row.instance_hours)
    return {k: (math.fsum(m), math.fsum(i)) for k, (m, i) in found.items()}


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def median_seconds(runs: int, action: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def machine(conn: Any) -> str:
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with conn.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    return (
        f"{os.cpu_count()} cores, {model}; Python {platform.python_version()}; "
        f"PostgreSQL {server}; {platform.platform()}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument(
        "--helpers",
        type=int,
        default=answer.HELPER_CONNECTIONS,
        help="helper connections per report (the reporter's default)",
    )
    args = parser.parse_args()
    admin = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"pb_bench_{uuid.uuid4().hex[:8]}"
    parts = urlsplit(admin)
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
    control = psycopg2.connect(admin)
    control.autocommit = True
    with control.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        return run(url, args.processes, args.runs, args.helpers)
    finally:
        if not args.keep:
            with control.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        control.close()


def run(url: str, processes: int, runs: int, helpers: int) -> int:
    migrate.apply(url)
    rng = random.Random(20261001)
    conn = db.connect(url)
    started = time.perf_counter()
    apps = copy(conn, "app_usage_events", COLUMNS, app_rows(rng, processes))
    services = copy(conn, "service_usage_events", COLUMNS, service_rows(rng, processes))
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE app_usage_events")
        cursor.execute("VACUUM ANALYZE service_usage_events")
        cursor.execute("VACUUM ANALYZE process_spans")
    conn.autocommit = False
    loaded = time.perf_counter() - started
    print(f"machine: {machine(conn)}")
    print(
        "load average before the runs (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    )
    print(f"loaded {apps} app events and {services} service events in {loaded:.1f}s")
    now = datetime(2027, 1, 1, tzinfo=UTC)
    one_org = protocol.ReportRequest(
        from_=WINDOW_FROM, to=WINDOW_TO, org_guids=("org-0007".ljust(36, "0"),)
    )
    all_orgs = protocol.ReportRequest(from_=WINDOW_FROM, to=WINDOW_TO)
    extra = [db.connect(url) for _ in range(helpers)]
    print(f"report connections: 1 + {helpers} helpers")
    org_s, org_report = median_seconds(
        runs, lambda: usage.compute(conn, one_org, now, helpers=extra)
    )
    all_s, all_report = median_seconds(
        runs, lambda: usage.compute(conn, all_orgs, now, helpers=extra)
    )

    def jsonb() -> Any:
        with db.transaction(conn) as cursor:
            # The same session settings as the report transaction, for a fair comparison.
            cursor.execute("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")
            cursor.execute(JSONB_TOTALS, {"from": WINDOW_FROM, "to": WINDOW_TO})
            return {r[0]: (float(r[1]), float(r[2])) for r in cursor.fetchall()}

    jsonb_s, jsonb_totals = median_seconds(runs, jsonb)
    normalized = report_totals(all_report)
    agree = set(normalized) == set(jsonb_totals) and all(
        _close(normalized[t][i], jsonb_totals[t][i]) for t in normalized for i in (0, 1)
    )
    for label, seconds, report in (("one org", org_s, org_report), ("all orgs", all_s, all_report)):
        print(f"{label} month report: {seconds * 1000:8.1f} ms median of {runs}", end=" ")
        print(f"({len(report.rows)} rows)")
    print(f"jsonb all-orgs query:   {jsonb_s * 1000:8.1f} ms median of {runs}")
    print(f"speed-up over jsonb: {jsonb_s / all_s:.1f}x")
    print("per resource_type (memory GB-hours, instance-hours): normalized | jsonb")
    for kind in sorted(set(normalized) | set(jsonb_totals)):
        mine, theirs = normalized.get(kind), jsonb_totals.get(kind)
        print(f"  {kind:8s} {mine} | {theirs}")
    print(f"totals agree (1e-9 relative): {agree}")
    print(
        "load average after the runs (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    )
    for helper in extra:
        helper.close()
    conn.close()
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
