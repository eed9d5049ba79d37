"""Outage scenarios: the real pipeline behind TCP proxies, a cut, a restore, then the figures.

Every process reaches PostgreSQL and RabbitMQ through a `TcpProxy` of the test's own, so an
outage is a cut of the proxy (the shared servers are never restarted). A scenario ends with
the database equal to the simulator's history (same guids, in API order, no duplicates) and a
report equal to the simulator's ground truth. Measurements go, one JSON line each, to
`RESILIENCE_RESULTS` (default: paas-billing-resilience.jsonl in the temp directory);
`python -m tests.resilience.table` renders them for docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from reporter import client
from shared.states import EventKind
from simulator import truth as sim_truth
from tests.support import pipeline
from tests.support.pipeline import Pipeline, api_guids, stored_guids
from tests.support.tcp_proxy import TcpProxy
from tests.support.wait import wait_until

# Events in a scenario's history (both kinds together).
EVENTS = 4000
# Days of history, ending a day before today so no span reaches into the future.
HISTORY_DAYS = 8
# A producer throttled so that ingestion lasts a few seconds and a cut lands in the middle.
THROTTLED_PRODUCER = {"COLLECTOR_FETCH_LIMIT": "50", "COLLECTOR_MIN_WAIT_TIME": "100ms"}
# Fraction of the history stored before the cut.
CUT_AFTER_FRACTION = 0.15
# Seconds a report client waits for its reply.
REPORT_TIMEOUT_SECONDS = 120.0
# Seconds allowed for ingestion to finish after a restore.
RECOVERY_TIMEOUT_SECONDS = 180.0


def results_path() -> Path:
    default = Path(tempfile.gettempdir()) / "paas-billing-resilience.jsonl"
    return Path(os.environ.get("RESILIENCE_RESULTS", str(default)))


def record(**measurement: Any) -> None:
    """Append one measurement line (fault, duration, losses, recovery) to the results file."""
    measurement["at"] = datetime.now(UTC).isoformat(timespec="seconds")
    with results_path().open("a", encoding="utf-8") as out:
        out.write(json.dumps(measurement) + "\n")


@dataclass
class World:
    """A simulator with ground truth, and proxies in front of the database and the broker."""

    sim_url: str
    truth_file: Path
    database_url: str
    amqp_url: str
    db_proxy: TcpProxy
    broker_proxy: TcpProxy
    pipe: Pipeline
    proxies: dict[str, TcpProxy] = field(default_factory=dict)

    def cut(self, *paths: str) -> None:
        for path in paths:
            self.proxies[path].cut()

    def restore(self, *paths: str) -> None:
        for path in paths:
            self.proxies[path].restore()

    def stored_total(self) -> int:
        return sum(pipeline.count_rows(self.database_url, kind) for kind in EventKind)

    def truth(self) -> sim_truth.Truth:
        return sim_truth.load(self.truth_file)


def history_start() -> str:
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start -= timedelta(days=HISTORY_DAYS + 1)
    return start.strftime("%Y-%m-%dT%H:%M:%SZ")


@contextmanager
def world(
    database_url: str, amqp_url: str, tmp_path: Path, seed: int = 7, events: int = EVENTS
) -> Iterator[World]:
    """Simulator, proxies and a pipeline whose processes see only the proxies."""
    truth_file = tmp_path / "truth.json"
    with ExitStack() as stack:
        sim = stack.enter_context(
            pipeline.simulator(
                events=events,
                seed=seed,
                start=history_start(),
                days=HISTORY_DAYS,
                export_truth=truth_file,
            )
        )
        db_proxy = stack.enter_context(TcpProxy.for_url(database_url, 5432))
        broker_proxy = stack.enter_context(TcpProxy.for_url(amqp_url, 5672))
        pipe = stack.enter_context(
            Pipeline(sim.url, db_proxy.url_for(database_url), broker_proxy.url_for(amqp_url))
        )
        try:
            yield World(
                sim.url,
                truth_file,
                database_url,
                amqp_url,
                db_proxy,
                broker_proxy,
                pipe,
                {"database": db_proxy, "broker": broker_proxy},
            )
        except BaseException:
            print(pipe.logs())  # shown by pytest for a failing test
            raise


def assert_database_equals_history(w: World) -> dict[str, int]:
    """Stored guids per kind, in id order, are exactly the API's; returns the counts."""
    expected = api_guids(w.sim_url)
    counts = {}
    for kind in EventKind:
        stored = stored_guids(w.database_url, kind)
        assert len(stored) == len(set(stored)), f"duplicate {kind} rows"
        assert stored == expected[kind], f"{kind}: stored differs from the API's history"
        counts[kind.value] = len(stored)
    return counts


def report_window(t: sim_truth.Truth) -> tuple[datetime, datetime]:
    return t.history_start + timedelta(days=2), t.history_end - timedelta(days=1)


def report_body(t: sim_truth.Truth) -> bytes:
    start, end = report_window(t)
    return orjson.dumps({"from": start.isoformat(), "to": end.isoformat()})


def assert_report_equals_truth(reply: dict[str, Any] | None, t: sim_truth.Truth) -> None:
    """An ok reply whose rows are the ground truth's usage, row for row."""
    assert reply is not None, "no reply"
    assert reply["status"] == "ok", reply
    expected = sim_truth.expected_usage(t, *report_window(t))
    got: dict[str, tuple[float, float]] = {}
    for row in reply["report"]["rows"]:
        key = sim_truth.usage_key(
            row["resource_type"], row["resource_guid"], row.get("service_plan_guid")
        )
        got[key] = (row["memory_gb_hours"], row["instance_hours"])
    assert got.keys() == expected.keys() and expected
    for key, usage in expected.items():
        hours = usage["service_hours"] if usage["resource_type"] == "service" else None
        want = (usage["memory_gb_hours"], hours if hours is not None else usage["instance_hours"])
        assert got[key] == pytest.approx(want, rel=1e-9, abs=1e-6), key


def ask(amqp_url: str, t: sim_truth.Truth, timeout: float = REPORT_TIMEOUT_SECONDS) -> Any:
    """Send the ground-truth window's report request straight to the broker (no proxy)."""
    return client.call(amqp_url, report_body(t), timeout)


def start_ingestion(w: World, consumers: int = 2) -> None:
    w.pipe.start_producer(**THROTTLED_PRODUCER)
    w.pipe.start_consumers(consumers)


def wait_some_stored(w: World, fraction: float = CUT_AFTER_FRACTION) -> int:
    want = int(EVENTS * fraction)
    wait_until(lambda: w.stored_total() >= want, timeout=120, interval=0.05, what=f"{want} rows")
    return w.stored_total()


def outage(
    w: World, paths: tuple[str, ...], seconds: float, during: Callable[[], None] | None = None
) -> float:
    """Cut `paths` for `seconds` (waiting on the clock is the fault itself), calling `during`
    once they are cut; return the monotonic time of the restore."""
    w.cut(*paths)
    if during is not None:
        during()
    deadline = time.monotonic() + seconds
    wait_until(lambda: time.monotonic() >= deadline, timeout=seconds + 5, interval=0.1)
    w.restore(*paths)
    return time.monotonic()


def wait_all_stored(w: World) -> float:
    """Wait until every API event is stored; the monotonic time it happened."""
    expected = api_guids(w.sim_url)
    w.pipe.wait_stored(expected, timeout=RECOVERY_TIMEOUT_SECONDS)
    return time.monotonic()


def logged_events(text: str) -> list[dict[str, Any]]:
    events = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
    return events


def events_named(process_logs: str, *names: str) -> list[dict[str, Any]]:
    return [e for e in logged_events(process_logs) if e.get("event") in names]
