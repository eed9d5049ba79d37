"""Benchmark the HTTP API: concurrent billing managers asking for their org's month.

    python benchmarks/api.py [--processes 5000] [--clients 50] [--requests 20]

Creates its own database (on DATABASE_URL's server, default the local one; named api_bench_*),
loads the history of `benchmarks/report.py` (about a million events at 5,000 processes),
starts the simulator (as UAA and Cloud Controller, with a billing manager of one org) and the
API as real processes, then runs --clients threads, each with its own connection and token,
asking --requests times for that org's month (October 2026). Prints throughput, p50/p99
latency, and, from the API's own metrics, the mean time per request spent verifying tokens,
looking up roles (cached for API_ROLES_CACHE_TTL; run with --roles-ttl 0s to ask the Cloud
Controller every time) and computing the report. The API logs each answer at INFO, as in
production (to a file here). With --roles-ttl, a second API on the same database asks the
Cloud Controller for every request. Drops the database at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import orjson
import psycopg2
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import report  # noqa: E402
from shared import db, migrate  # noqa: E402

ORG = "org-0007".ljust(36, "0")
WINDOW = {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z", "org_guid": ORG}
USER = ("billing", "billing-pw")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, what: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}")
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not come up")


def load(url: str, processes: int) -> None:
    migrate.apply(url)
    rng = random.Random(20261001)
    conn = db.connect(url)
    started = time.perf_counter()
    apps = report.copy(
        conn, "app_usage_events", report.APP_COLUMNS, report.app_rows(rng, processes)
    )
    services = report.copy(
        conn, "service_usage_events", report.SERVICE_COLUMNS, report.service_rows(rng, processes)
    )
    conn.autocommit = True
    with conn.cursor() as cursor:
        for table in ("app_usage_events", "service_usage_events", "process_spans"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"machine: {report.machine(conn)}")
    conn.close()
    print(
        f"loaded {apps} app and {services} service events in {time.perf_counter() - started:.0f}s"
    )


def stage_means(metrics_url: str) -> dict[str, tuple[float, float]]:
    """(sum, count) of paas_billing_api_stage_seconds per stage."""
    text = requests.get(metrics_url + "/metrics", timeout=10).text
    found: dict[str, list[float]] = {}
    for kind, stage, value in re.findall(
        r'^paas_billing_api_stage_seconds_(sum|count)\{stage="(\w+)"\} (\S+)$', text, re.M
    ):
        found.setdefault(stage, [0.0, 0.0])[0 if kind == "sum" else 1] = float(value)
    return {stage: (pair[0], pair[1]) for stage, pair in found.items()}


def run_clients(
    api_url: str, token: str, clients: int, per_client: int
) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    go = threading.Event()

    def client() -> None:
        nonlocal failures
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        mine: list[float] = []
        bad = 0
        go.wait()
        for _ in range(per_client):
            started = time.perf_counter()
            response = session.get(api_url + "/v1/usage", params=WINDOW, timeout=120)
            mine.append(time.perf_counter() - started)
            bad += response.status_code != 200
        with lock:
            latencies.extend(mine)
            failures += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    go.set()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started, failures


def measure(url: str, sim_url: str, ttl: str, args: argparse.Namespace, work: Path) -> int:
    """Start an API with this roles TTL, run the clients, print the figures; failures."""
    api_port, metrics_port = free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": url, "CF_API_ADDRESS": sim_url,
           "API_HOST": "127.0.0.1", "API_PORT": str(api_port),
           "METRICS_PORT": str(metrics_port), "LOG_LEVEL": "INFO",
           "API_ROLES_CACHE_TTL": ttl, "API_DB_CONNECTIONS": args.db_connections}  # fmt: skip
    api_log = (work / f"api-{ttl}.log").open("wb")
    api = subprocess.Popen(
        [sys.executable, "-m", "tenant_api"], cwd=ROOT, env=env, stdout=api_log,
        stderr=subprocess.STDOUT)  # fmt: skip
    try:
        api_url = f"http://127.0.0.1:{api_port}"
        wait_for(api_url + "/healthz", "the API", api)
        token = requests.post(
            sim_url + "/oauth/token", auth=("cf", ""), timeout=10,
            data={"grant_type": "password", "username": USER[0], "password": USER[1]},
        ).json()["access_token"]  # fmt: skip
        warm = requests.get(api_url + "/v1/usage", params=WINDOW, timeout=120,
                            headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert warm.status_code == 200, warm.text
        rows = len(warm.json()["rows"])
        metrics_url = f"http://127.0.0.1:{metrics_port}"
        before = stage_means(metrics_url)
        print("load average before (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        latencies, elapsed, failures = run_clients(api_url, token, args.clients, args.requests)
        print("load average after (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        after = stage_means(metrics_url)
    finally:
        api.terminate()
        api.wait(timeout=90)
    latencies.sort()
    total = len(latencies)
    print(f"{args.clients} clients x {args.requests} requests for one org's month "
          f"({rows} rows), API_DB_CONNECTIONS={args.db_connections}, "
          f"API_ROLES_CACHE_TTL={ttl}")  # fmt: skip
    print(f"  answered {total} in {elapsed:.1f}s: {total / elapsed:.1f} requests/s, "
          f"{failures} not 200")  # fmt: skip
    print(f"  latency p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p99 {latencies[int(0.99 * (total - 1))] * 1000:.0f} ms, "
          f"max {latencies[-1] * 1000:.0f} ms")  # fmt: skip
    print("  server time per request (mean, from paas_billing_api_stage_seconds):")
    for stage in ("token", "roles", "db_wait", "report", "serialize"):
        spent = after[stage][0] - before.get(stage, (0.0, 0.0))[0]
        count = after[stage][1] - before.get(stage, (0.0, 0.0))[1]
        print(f"    {stage:7s} {spent / count * 1000:8.2f} ms over {count:.0f}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20, help="per client")
    parser.add_argument(
        "--roles-ttl", default="30s,0s", help="API_ROLES_CACHE_TTL of each API run, in turn"
    )
    parser.add_argument("--db-connections", default="4", help="API_DB_CONNECTIONS")
    args = parser.parse_args()
    # A SIGTERM unwinds through the finally below, so the database is dropped all the same.
    signal.signal(signal.SIGTERM, lambda _s, _f: sys.exit(128 + signal.SIGTERM))
    admin = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"api_bench_{uuid.uuid4().hex[:8]}"
    parts = urlsplit(admin)
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
    control = psycopg2.connect(admin)
    control.autocommit = True
    with control.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    work = Path(tempfile.mkdtemp(prefix="api_bench_"))
    children: list[subprocess.Popen[bytes]] = []
    try:
        load(url, args.processes)
        users = work / "users.json"
        users.write_bytes(orjson.dumps({"users": [{
            "username": USER[0], "password": USER[1], "user_id": "billing-id",
            "roles": [{"type": "organization_billing_manager", "org_guid": ORG}]}]}))  # fmt: skip
        sim_port = free_port()
        sim_url = f"http://127.0.0.1:{sim_port}"
        log = (work / "simulator.log").open("wb")
        children.append(subprocess.Popen(
            [sys.executable, "-m", "simulator", "--port", str(sim_port), "--events", "50",
             "--users", str(users), "--log-level", "warning"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))  # fmt: skip
        wait_for(sim_url + "/", "the simulator", children[-1])
        failures = 0
        for ttl in args.roles_ttl.split(","):
            failures += measure(url, sim_url, ttl, args, work)
        return 1 if failures else 0
    finally:
        for child in reversed(children):
            child.terminate()
            child.wait(timeout=60)
        with control.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        control.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
