"""Benchmark: how fast the simulator serves usage events to keyset-paging clients.

Starts `python -m simulator` as a subprocess with a history of --events events, then pages
through /v2 and /v3 app_usage_events with `after_guid` at --page-size per page, from 1 and
from 2 client threads (each thread walks the whole table, each with its own connection), and
prints pages/s, events/s and the server's CPU time per page (which, unlike the rates, does
not depend on what else the machine is doing) with a description of the machine.

    python benchmarks/simulator.py --events 200000 --page-size 100
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.simulator import fixtures
from tests.support.processes import cpu_seconds


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores, {model}, Python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.system()} {platform.release()}"
    )


def walk(url: str, version: str, page_size: int, token: str) -> tuple[int, int]:
    """Keyset-page through the whole table; return (pages, events).

    The client is http.client + orjson on one keep-alive connection: `requests` spends about
    1 ms of client CPU per call, which on a 2-core machine measures the client, not the server.
    """
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    headers = {"Authorization": f"bearer {token}"}
    size_param = "results-per-page" if version == "v2" else "per_page"
    path = f"/{version}/app_usage_events?{size_param}={page_size}"
    cursor: str | None = None
    pages = events = 0
    while True:
        target = path if cursor is None else f"{path}&after_guid={cursor}"
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"{target}: {response.status} {body[:200]!r}")
        resources = orjson.loads(body)["resources"]
        pages += 1
        events += len(resources)
        if len(resources) < page_size:
            return pages, events
        last = resources[-1]
        cursor = last["metadata"]["guid"] if version == "v2" else last["guid"]


def run(url: str, version: str, threads: int, page_size: int, token: str) -> tuple[float, int, int]:
    results: list[tuple[int, int]] = []
    lock = threading.Lock()

    def worker() -> None:
        outcome = walk(url, version, page_size, token)
        with lock:
            results.append(outcome)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    began = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - began
    return elapsed, sum(p for p, _ in results), sum(e for _, e in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    began = time.perf_counter()
    with fixtures.start_simulator(
        timeout=600, events=args.events, seed=1, log_level="warning"
    ) as simulator:
        print(f"simulator ready with {args.events} events in {time.perf_counter() - began:.1f}s")
        token = fixtures.token(simulator.url)
        pid = simulator.process.pid
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        print(
            f"{'api':<4} {'threads':>7} {'pages':>7} {'events':>9} {'seconds':>8} "
            f"{'pages/s':>8} {'events/s':>9} {'server cpu ms/page':>19}"
        )
        for version in ("v2", "v3"):
            for threads in (1, 2):
                cpu_before = cpu_seconds(pid)
                elapsed, pages, events = run(simulator.url, version, threads, args.page_size, token)
                cpu_ms = (cpu_seconds(pid) - cpu_before) / pages * 1000
                print(
                    f"{version:<4} {threads:>7} {pages:>7} {events:>9} {elapsed:>8.2f} "
                    f"{pages / elapsed:>8.0f} {events / elapsed:>9.0f} {cpu_ms:>19.2f}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
