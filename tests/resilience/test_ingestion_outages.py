"""Outages of the broker and the database while the producer and consumers ingest.

Each case cuts a path (every process's connections to RabbitMQ, to PostgreSQL, or both) in
the middle of ingestion, restores it, and then checks: the database holds exactly the
simulator's history (API order, no duplicates, nothing missing), a report equals the ground
truth, every process said in its log what it was waiting for, and each exits 0 on SIGTERM.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.resilience import scenario
from tests.support.wait import wait_until

# Log events that say a process is waiting for the broker / the database.
BROKER_WAITS = ("broker_unavailable", "broker_connection_lost", "waiting_for")
DATABASE_WAITS = ("database_unavailable", "database_refused", "waiting_for")
# Seconds within which a process must exit 0 after SIGTERM.
STOP_BOUND_SECONDS = 15.0

CASES = [
    pytest.param(("broker",), 1, id="broker-1s"),
    pytest.param(("database",), 1, id="database-1s"),
    pytest.param(("broker",), 10, id="broker-10s"),
    pytest.param(("database",), 10, id="database-10s"),
    pytest.param(("broker", "database"), 60, id="broker+database-60s", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("paths", "seconds"), CASES)
@pytest.mark.timeout(600)
def test_ingestion_outage_loses_nothing_and_doubles_nothing(
    paths: tuple[str, ...], seconds: int, database_url: str, amqp_url: str, tmp_path: Path
) -> None:
    with scenario.world(database_url, amqp_url, tmp_path) as w:
        scenario.start_ingestion(w)
        before = scenario.wait_some_stored(w)
        restored = scenario.outage(w, paths, seconds)
        at_restore = w.stored_total()
        wait_until(
            lambda: w.stored_total() > at_restore,
            timeout=scenario.RECOVERY_TIMEOUT_SECONDS,
            interval=0.05,
            what="ingestion to resume after the restore",
        )
        resumed = time.monotonic()
        done = scenario.wait_all_stored(w)
        counts = scenario.assert_database_equals_history(w)

        # Every process loses its broker connection and says so. A database cut is noticed by
        # whoever uses the database: the producer, and a consumer that has a batch to write
        # (one may have had none in hand while the other took the rest; with the broker cut
        # too, consumers wait for the broker and have nothing to write).
        for process in w.pipe.producers + w.pipe.consumers:
            if "broker" in paths:
                waits = scenario.events_named(process.logs(), *BROKER_WAITS)
                assert waits, f"{process.name}: no broker wait logged"
        if "database" in paths:
            (producer,) = w.pipe.producers
            assert scenario.events_named(producer.logs(), *DATABASE_WAITS), "producer: no db wait"
            consumer_waits = [
                scenario.events_named(c.logs(), *DATABASE_WAITS) for c in w.pipe.consumers
            ]
            assert any(consumer_waits) or "broker" in paths, "no consumer logged a db wait"

        w.pipe.start_reporter()
        scenario.assert_report_equals_truth(scenario.ask(w.amqp_url, w.truth()), w.truth())

        dead = [p.name for p in w.pipe.all_processes() if not p.alive()]
        assert not dead, f"processes died: {dead}"
        started = time.monotonic()
        codes = w.pipe.stop_all()
        stopped_in = time.monotonic() - started
        assert set(codes.values()) == {0}, codes
        assert stopped_in < STOP_BOUND_SECONDS

    scenario.record(
        fault="+".join(paths) + " cut during ingestion",
        seconds=seconds,
        stored_before_cut=before,
        events=sum(counts.values()),
        stored=sum(counts.values()),
        lost=0,
        duplicates=0,
        resumed_after_s=round(resumed - restored, 2),
        all_stored_after_s=round(done - restored, 2),
        report="equal to ground truth",
    )
