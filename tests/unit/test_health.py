"""Liveness says whether the loop still turns, whatever the dependencies; readiness is about
the dependencies."""

from __future__ import annotations

import time

from shared import health
from shared.shutdown import StopSignal


def test_liveness_is_alive_while_starting_however_long() -> None:
    stop = StopSignal()
    stop.last_looked = time.monotonic() - 10_000  # a migration that has run for hours
    assert health.Liveness(stop, stall_seconds=1).alive()


def test_liveness_fails_when_the_running_loop_stops_looking_at_its_signal() -> None:
    stop = StopSignal()
    liveness = health.Liveness(stop, stall_seconds=60)
    liveness.running()
    assert liveness.alive()
    stop.last_looked = time.monotonic() - 61
    assert not liveness.alive()
    stop.is_set()  # the loop turns again
    assert liveness.alive()


def test_liveness_asking_does_not_count_as_the_loop_turning() -> None:
    stop = StopSignal()
    liveness = health.Liveness(stop, stall_seconds=60)
    liveness.running()
    stop.last_looked = time.monotonic() - 61
    liveness.alive()
    assert not liveness.alive()


def test_readiness_needs_the_schema_and_counts_a_raising_check_as_failing() -> None:
    probes = health.Probes(StopSignal())
    probes.add("database", lambda: True)
    assert health.results(probes.checks) == {"schema": False, "database": True}
    probes.running()

    def broken() -> bool:
        raise OSError("unreachable")

    probes.add("broker", broken)
    assert health.results(probes.checks) == {"schema": True, "database": True, "broker": False}
