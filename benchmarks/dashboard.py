"""Benchmark the dashboard's page of one org's month, server-side, on the busy platform.

    python benchmarks/dashboard.py [--scale 1] [--runs 20] [--keep | --database NAME]

Creates its own database (on DATABASE_URL's server, default the local one), migrates it,
COPYs the busy platform's 62 days in (benchmarks/histories.py, about a million events),
applies the histories' pricing, then times what `GET /orgs/<org>?month=2026-10` does once
the session is checked: the bill (reporter.bill.compute), the usage report, the days, the
view-model, the SVG chart and the Jinja2 template, over the API's own pool (`Reports`), for
org-0007 (median, p90 and max of --runs after one warm-up). It also times the admin's
ranking of every org once. Wall times move with what else the machine runs; the CPU time of
this process per page is printed beside them. Drops the database at the end (unless --keep).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import orjson
import psycopg2
from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import histories, report
from shared import db, migrate, pricing_file, pricing_store
from tenant_api import tokens
from tenant_api.dashboard import charts, figures, pages, views
from tenant_api.dashboard.guard import Viewer
from tenant_api.dashboard.months import Month
from tenant_api.metrics import ApiMetrics
from tenant_api.pool import Pool
from tenant_api.reports import Reports

# The page's target (issue 17), in milliseconds.
TARGET_MS = 300
# The moment the pages are computed at: after the month, so every run sees the same bill.
NOW = datetime(2027, 1, 1, tzinfo=UTC)
MONTH = Month.of(histories.WINDOW_FROM)
# Whom the page is shown to: a billing manager (the session check is not timed here).
VIEWER = Viewer(tokens.Caller("user", "user", "cf", frozenset(), "-", "ann"), "id", "csrf")


def render_org_page(board: figures.Figures, org: str) -> str:
    """What the org page's handler does after the guard, returning the HTML."""
    page = views.org_page(board.org_month(org, MONTH, NOW))
    chart = charts.daily(page.days, page.headline.currency, "chart-title", "chart-desc")
    nav = {"path": f"/orgs/{org}", "month": MONTH, "previous": MONTH.previous(), "next": None}
    return str(pages.render("org.html", page=page, chart=chart, nav=nav, viewer=VIEWER).body)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--database", help="a database --keep left loaded: time it again")
    args = parser.parse_args()
    admin = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(admin)
    name = args.database or f"pb_dash_{uuid.uuid4().hex[:8]}"
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
    if args.database:
        return run(url, args, load=False)
    control = psycopg2.connect(admin)
    control.autocommit = True
    with control.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        return run(url, args, load=True)
    finally:
        if args.keep:
            print(f"kept the database: {name}")
        else:
            with control.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        control.close()


def run(url: str, args: argparse.Namespace, *, load: bool) -> int:
    migrate.apply(url)
    conn = db.connect(url)
    if load:
        started = time.perf_counter()
        apps, services = histories.load(conn, "busy", 0, args.scale)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        conn.autocommit = False
        print(f"loaded {apps} app and {services} service events in "
              f"{time.perf_counter() - started:.0f}s")  # fmt: skip
        prices = orjson.dumps(histories.pricing_document())
        pricing_store.apply(conn, prices, "benchmark.json", pricing_file.parse(prices))
    print(f"machine: {report.machine(conn)}")
    conn.close()
    pool = Pool(url, 4, wait=60)
    board = figures.Figures(Reports(pool, 60_000, ApiMetrics(CollectorRegistry())), 60_000)
    print("load average before (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    html = render_org_page(board, histories.ONE_ORG)  # warm-up: connections, caches
    found = board.org_month(histories.ONE_ORG, MONTH, NOW)
    lines = sum(len(org["lines"]) for org in found.bill["orgs"])
    times, cpu = [], []
    for _ in range(args.runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        render_org_page(board, histories.ONE_ORG)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    times.sort()
    median, p90 = statistics.median(times), times[int(0.9 * (len(times) - 1))]
    print(f"org page, {MONTH.label}, {histories.ONE_ORG}: {lines} bill lines, "
          f"{len(found.rows)} usage rows, {len(html):,} bytes of HTML")  # fmt: skip
    verdict = "met" if median < TARGET_MS else "NOT met"
    print(f"  median {median:.1f} ms, p90 {p90:.1f} ms, max {times[-1]:.1f} ms "
          f"over {args.runs} runs (target < {TARGET_MS} ms: {verdict})")  # fmt: skip
    print(f"  this process's CPU per page (both threads; PostgreSQL's not counted): "
          f"median {statistics.median(cpu):.1f} ms")  # fmt: skip
    started = time.perf_counter()
    ranked = views.ranking(board.every_org(MONTH, NOW), MONTH, NOW)
    print(f"every org ranked ({len(ranked.orgs)} orgs): "
          f"{(time.perf_counter() - started) * 1000:.0f} ms, once")  # fmt: skip
    print("load average after (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    pool.close()
    return 0 if median < TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
