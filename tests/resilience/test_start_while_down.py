"""Processes started while PostgreSQL and RabbitMQ are unreachable wait for them (saying so in
their logs), start working once they are back, and lose nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.resilience import scenario
from tests.support.pipeline import FAST_PRODUCER
from tests.support.wait import wait_until

# Seconds the paths stay cut after every process said it is waiting.
DOWN_SECONDS = 3


@pytest.mark.timeout(300)
def test_start_while_down_every_process_waits_then_works(
    database_url: str, amqp_url: str, tmp_path: Path
) -> None:
    with scenario.world(database_url, amqp_url, tmp_path, seed=5) as w:
        w.cut("database", "broker")
        w.pipe.start_producer(**FAST_PRODUCER)
        w.pipe.start_consumers(2)
        reporter = w.pipe.start_reporter()
        for process in w.pipe.all_processes():
            wait_until(
                lambda p=process: scenario.events_named(  # type: ignore[misc]
                    p.logs(), "waiting_for", "waiting_for_database", "database_unavailable"
                ),
                timeout=60,
                what=f"{process.name} to log that it waits for the database",
            )
        assert all(p.alive() for p in w.pipe.all_processes())
        restored = scenario.outage(w, ("database", "broker"), DOWN_SECONDS)
        done = scenario.wait_all_stored(w)
        counts = scenario.assert_database_equals_history(w)
        wait_until(lambda: "reporter_listening" in reporter.logs(), timeout=60, what="reporter")
        scenario.assert_report_equals_truth(scenario.ask(w.amqp_url, w.truth()), w.truth())
        answered = time.monotonic()
        assert set(w.pipe.stop_all().values()) == {0}
    scenario.record(
        fault="database+broker down at start",
        seconds=DOWN_SECONDS,
        events=sum(counts.values()),
        stored=sum(counts.values()),
        lost=0,
        duplicates=0,
        all_stored_after_s=round(done - restored, 2),
        answered_after_s=round(answered - restored, 2),
        report="equal to ground truth",
    )
