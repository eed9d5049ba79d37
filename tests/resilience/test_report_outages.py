"""Outages of the reporter's database and broker paths while a report is asked for.

The history is ingested first (no fault). Then the reporter's path is cut, a request is sent
(straight to the broker, so the client is not cut), and the path is restored after the
outage. The client gets an answer: the correct report once the path is back, or an
`unavailable` error reply when the database stayed away longer than the reporter's retries.
Either way the reporter keeps serving: the next request is answered, equal to ground truth.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.resilience import scenario
from tests.support.pipeline import FAST_PRODUCER
from tests.support.wait import wait_until

# Log events by which the reporter says it is waiting for a path.
WAITS = {
    "database": ("database_unavailable",),
    "broker": ("broker_unavailable", "broker_connection_lost"),
}

CASES = [
    pytest.param([(("database",), 1), (("broker",), 1)], id="1s"),
    pytest.param([(("database",), 10), (("broker",), 10)], id="10s"),
    pytest.param([(("database",), 60)], id="60s", marks=pytest.mark.slow),
]


class Asker(threading.Thread):
    """One report request in the background; keeps the reply and when it arrived."""

    def __init__(self, w: scenario.World) -> None:
        super().__init__(daemon=True)
        self._w = w
        self.reply: Any = None
        self.arrived = 0.0

    def run(self) -> None:
        self.reply = scenario.ask(self._w.amqp_url, self._w.truth())
        self.arrived = time.monotonic()


@pytest.mark.parametrize("outages", CASES)
@pytest.mark.timeout(600)
def test_report_outage_answers_and_keeps_serving(
    outages: list[tuple[tuple[str, ...], int]],
    database_url: str,
    amqp_url: str,
    tmp_path: Path,
) -> None:
    with scenario.world(database_url, amqp_url, tmp_path, seed=11) as w:
        w.pipe.start_producer(**FAST_PRODUCER)
        w.pipe.start_consumers(2)
        scenario.wait_all_stored(w)
        truth = w.truth()
        reporter = w.pipe.start_reporter()
        wait_until(lambda: "reporter_listening" in reporter.logs(), what="reporter listening")
        scenario.assert_report_equals_truth(scenario.ask(w.amqp_url, truth), truth)

        for paths, seconds in outages:
            asker = Asker(w)
            restored = scenario.outage(w, paths, seconds, during=asker.start)
            asker.join(scenario.REPORT_TIMEOUT_SECONDS + 10)
            first = asker.reply
            assert first is not None, "no reply at all"
            if first["status"] == "ok":
                scenario.assert_report_equals_truth(first, truth)
                answered = asker.arrived
                outcome = "ok after the restore"
            else:
                assert first["error"]["code"] == "unavailable", first
                assert "database" in paths
                outcome = "unavailable reply, then ok"
                scenario.assert_report_equals_truth(scenario.ask(w.amqp_url, truth), truth)
                answered = time.monotonic()
            # The reporter keeps serving.
            scenario.assert_report_equals_truth(scenario.ask(w.amqp_url, truth), truth)
            for path in paths:
                assert scenario.events_named(reporter.logs(), *WAITS[path]), f"no {path} wait"
            scenario.record(
                fault="+".join(paths) + " cut during a report",
                seconds=seconds,
                events=w.stored_total(),
                lost=0,
                duplicates=0,
                first_reply=outcome,
                answered_after_s=round(answered - restored, 2),
                report="equal to ground truth",
            )

        assert all(p.alive() for p in w.pipe.all_processes()), "a process died"
        started = time.monotonic()
        assert set(w.pipe.stop_all().values()) == {0}
        assert time.monotonic() - started < 15
