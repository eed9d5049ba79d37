"""Benchmark the reporter's arithmetic over about a million events.

    python benchmarks/report.py [--shape long-lived|busy] [--processes 5000] [--scale 1]
                                [--runs 5]

Creates its own database (on DATABASE_URL's server, default the local one), migrates it,
COPYs a generated history in (benchmarks/histories.py: `long-lived`, few processes scaling
and stopping over 36 days; `busy`, a busy platform's 62 days), then times through
reporter/usage.py a one-org month report and an all-orgs month report (median of --runs),
beside a plain query over raw_message jsonb computing the same all-orgs result (totals per
resource_type), and checks both agree to 1e-9 relative. Drops the database at the end
(unless --keep).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import histories
from reporter import answer, bill, bill_assembly, bill_protocol, protocol, usage
from shared import db, gc_pause, migrate, pricing_file, pricing_store

WINDOW_FROM, WINDOW_TO = histories.WINDOW_FROM, histories.WINDOW_TO

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
    parser.add_argument("--shape", choices=("long-lived", "busy"), default="long-lived")
    parser.add_argument("--processes", type=int, default=5000, help="long-lived shape only")
    parser.add_argument("--scale", type=float, default=1.0, help="busy shape only")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument(
        "--database", help="a database --keep left loaded: time it again, load nothing"
    )
    parser.add_argument(
        "--helpers",
        type=int,
        default=answer.HELPER_CONNECTIONS,
        help="helper connections per report (the reporter's default)",
    )
    args = parser.parse_args()
    admin = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(admin)
    if args.database:
        reused = urlunsplit((parts.scheme, parts.netloc, "/" + args.database, parts.query, ""))
        return run(reused, args, args.helpers, load=False)
    name = f"pb_bench_{uuid.uuid4().hex[:8]}"
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
    control = psycopg2.connect(admin)
    control.autocommit = True
    with control.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        return run(url, args, args.helpers)
    finally:
        if args.keep:
            print(f"kept the database: {url}")
        else:
            with control.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        control.close()


def run(url: str, args: argparse.Namespace, helpers: int, *, load: bool = True) -> int:
    runs = args.runs
    migrate.apply(url)
    conn = db.connect(url)
    if load:
        started = time.perf_counter()
        apps, services = histories.load(conn, args.shape, args.processes, args.scale)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        conn.autocommit = False
        loaded = time.perf_counter() - started
        print(f"loaded {apps} app events and {services} service events in {loaded:.1f}s")
    prices = orjson.dumps(histories.pricing_document())
    pricing_store.apply(conn, prices, "benchmark.json", pricing_file.parse(prices))
    print(f"machine: {machine(conn)}")
    print(
        "load average before the runs (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    )
    now = datetime(2027, 1, 1, tzinfo=UTC)
    one_org = protocol.ReportRequest(
        from_=WINDOW_FROM, to=WINDOW_TO, org_guids=(histories.ONE_ORG,)
    )
    all_orgs = protocol.ReportRequest(from_=WINDOW_FROM, to=WINDOW_TO)
    extra = [db.connect(url) for _ in range(helpers)]
    print(f"report connections: 1 + {helpers} helpers")

    def reported(request: protocol.ReportRequest) -> tuple[protocol.Report, int]:
        """The report and the size of its reply body, as a reporter sends it."""
        with gc_pause.paused():
            report = usage.compute(conn, request, now, helpers=extra)
            return report, len(protocol.to_body(protocol.OkReply(report=report)))

    def billed(request: bill_protocol.BillRequest) -> tuple[int, int]:
        """The bill's line count and the size of its reply body."""
        with gc_pause.paused():
            body = bill.compute(conn, request, now, helpers=extra)
            lines = sum(len(org["lines"]) for org in body["orgs"])
            return lines, len(bill_assembly.reply_body(body))

    org_s, (org_report, org_bytes) = median_seconds(runs, lambda: reported(one_org))
    all_s, (all_report, all_bytes) = median_seconds(runs, lambda: reported(all_orgs))
    bill_org_s, (org_lines, bill_org_bytes) = median_seconds(
        runs, lambda: billed(bill_protocol.BillRequest(from_=WINDOW_FROM, to=WINDOW_TO,
                                                        org_guids=(histories.ONE_ORG,)))
    )  # fmt: skip
    bill_all_s, (all_lines, bill_all_bytes) = median_seconds(
        runs, lambda: billed(bill_protocol.BillRequest(from_=WINDOW_FROM, to=WINDOW_TO))
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
    figures = (
        ("one org month report", org_s, f"{len(org_report.rows)} rows", org_bytes),
        ("all orgs month report", all_s, f"{len(all_report.rows)} rows", all_bytes),
        ("one org month bill", bill_org_s, f"{org_lines} lines", bill_org_bytes),
        ("all orgs month bill", bill_all_s, f"{all_lines} lines", bill_all_bytes),
    )
    for label, seconds, size, reply in figures:
        print(f"{label:22s} {seconds * 1000:8.1f} ms median of {runs} ({size}, reply {reply:,} B)")
    print(f"jsonb all-orgs query:  {jsonb_s * 1000:8.1f} ms median of {runs}")
    print(f"speed-up over jsonb: {jsonb_s / all_s:.1f}x")
    print(f"all-orgs bill / report: {bill_all_s / all_s:.2f}x")
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
