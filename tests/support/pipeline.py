"""The real pipeline for end-to-end tests: simulator → producer → broker → consumers → database.

Each piece is a real process configured by environment only. Tests compose them:

    with simulator(events=20_000) as sim, Pipeline(sim.url, database_url, amqp_url) as pipe:
        pipe.start_producer()
        pipe.start_consumers(3)
        pipe.wait_stored(api_guids(sim.url))
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg2
import requests

from shared.states import ApiVersion, EventKind
from tests.simulator import fixtures
from tests.support import processes
from tests.support.wait import wait_until

# Table per event kind.
TABLES = {EventKind.APP: "app_usage_events", EventKind.SERVICE: "service_usage_events"}
# A producer that polls as fast as it can and takes every event (tests without late commits).
FAST_PRODUCER = {
    "COLLECTOR_FETCH_LIMIT": "100",
    "COLLECTOR_MIN_WAIT_TIME": "0s",
    "COLLECTOR_DEFAULT_SCHEDULE": "1s",
    "COLLECTOR_RECORD_MIN_AGE": "0s",
}


@contextmanager
def simulator(**flags: Any) -> Iterator[fixtures.RunningSimulator]:
    """A `python -m simulator` subprocess (flags as in tests/simulator/fixtures.py)."""
    running = fixtures.start_simulator(**flags)
    try:
        yield running
    finally:
        running.stop()


def producer_env(api: str, database_url: str, amqp_url: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "AMQP_URL": amqp_url,
        "CF_API_ADDRESS": api,
        "CF_CLIENT_ID": fixtures.CLIENT[0],
        "CF_CLIENT_SECRET": fixtures.CLIENT[1],
        "LOG_LEVEL": "INFO",
        **FAST_PRODUCER,
        **extra,
    }


def consumer_env(database_url: str, amqp_url: str, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "AMQP_URL": amqp_url, "LOG_LEVEL": "INFO", **extra}


class Pipeline:
    """Producer, consumers and reporters for one simulator, one database and one vhost."""

    def __init__(self, api: str, database_url: str, amqp_url: str) -> None:
        self.api = api
        self.database_url = database_url
        self.amqp_url = amqp_url
        self.producers: list[processes.Process] = []
        self.consumers: list[processes.Process] = []
        self.reporters: list[processes.Process] = []

    def start_producer(self, **extra: str) -> processes.Process:
        env = producer_env(self.api, self.database_url, self.amqp_url, **extra)
        process = processes.python_module("producer", env)
        self.producers.append(process)
        return process

    def start_consumers(self, count: int = 1, **extra: str) -> list[processes.Process]:
        started = [
            processes.python_module(
                "consumer", consumer_env(self.database_url, self.amqp_url, **extra)
            )
            for _ in range(count)
        ]
        self.consumers += started
        return started

    def start_reporter(self, **extra: str) -> processes.Process:
        env = consumer_env(self.database_url, self.amqp_url, **extra)
        process = processes.python_module("reporter", env)
        self.reporters.append(process)
        return process

    def all_processes(self) -> list[processes.Process]:
        return [*self.producers, *self.consumers, *self.reporters]

    def logs(self) -> str:
        return "\n".join(f"===== {p.name} {p.pid}\n{p.logs()}" for p in self.all_processes())

    def stop_all(self) -> dict[int, int]:
        """SIGTERM every live process; their exit codes by pid."""
        return {p.pid: p.stop() for p in self.all_processes() if p.alive()}

    def wait_stored(self, expected: Mapping[EventKind, list[str]], timeout: float = 180) -> None:
        """Wait until every expected guid is stored (counts per table reach the expected)."""
        want = {kind: len(guids) for kind, guids in expected.items()}
        wait_until(
            lambda: all(count_rows(self.database_url, kind) >= n for kind, n in want.items()),
            timeout=timeout,
            interval=0.25,
            what=f"{want} events stored",
        )

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *_exc: object) -> None:
        for process in self.all_processes():
            process.close()


def count_rows(database_url: str, kind: EventKind) -> int:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TABLES[kind]}")
        row = cursor.fetchone()
    conn.close()
    return int(row[0]) if row else 0


def stored_guids(database_url: str, kind: EventKind, foundation: str | None = None) -> list[str]:
    """Stored guids of one kind in `id` order (within a foundation when given)."""
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute(
            f"SELECT guid FROM {TABLES[kind]}"
            " WHERE %(foundation)s::text IS NULL OR foundation = %(foundation)s"
            " ORDER BY foundation, id",
            {"foundation": foundation},
        )
        rows = [row[0] for row in cursor.fetchall()]
    conn.close()
    return rows


def api_guids(
    api: str, version: ApiVersion = ApiVersion.V2, attempts: int = 50
) -> dict[EventKind, list[str]]:
    """Every visible event guid per kind in API order: our own keyset walk (retries faults)."""
    out: dict[EventKind, list[str]] = {}
    with requests.Session() as session:
        session.headers["Authorization"] = f"bearer {fixtures.token(api)}"
        for kind in EventKind:
            guids: list[str] = []
            while True:
                page = _page(session, api, version, kind, guids[-1] if guids else None, attempts)
                guids += page
                if len(page) < 100:
                    break
            out[kind] = guids
    return out


def _page(
    session: requests.Session,
    api: str,
    version: ApiVersion,
    kind: EventKind,
    after: str | None,
    attempts: int,
) -> list[str]:
    size = "results-per-page" if version is ApiVersion.V2 else "per_page"
    params: dict[str, Any] = {size: 100}
    if after:
        params["after_guid"] = after
    for _ in range(attempts):
        response = session.get(
            f"{api}/{version.value}/{kind.value}_usage_events", params=params, timeout=30
        )
        if response.status_code == 200:
            resources = response.json()["resources"]
            if version is ApiVersion.V2:
                return [r["metadata"]["guid"] for r in resources]
            return [r["guid"] for r in resources]
        if response.status_code == 401:
            session.headers["Authorization"] = f"bearer {fixtures.token(api)}"
    raise AssertionError(f"the simulator kept failing {kind} pages after {after}")
