"""Graceful shutdown with work in hand that cannot finish at once (a path is cut or blocked):
the first SIGTERM finishes it and exits 0 within a bound; a second exits at once (143), and
the work is not lost but redone by the next process."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from reporter import client
from tests.resilience import scenario
from tests.resilience.test_backpressure import cursor_total, queue_depth
from tests.support import processes
from tests.support.pipeline import FAST_PRODUCER
from tests.support.tcp_proxy import TcpProxy
from tests.support.wait import wait_until

REQUEST = orjson.dumps({"from": "2026-10-01T00:00:00Z", "to": "2026-10-02T00:00:00Z"})
# Exit status of an immediate exit on a second signal.
EXIT_AT_ONCE = 128 + signal.SIGTERM
# Seconds within which a second SIGTERM must end a process.
AT_ONCE_SECONDS = 3.0
# More unread bytes than a heartbeat: a page was sent that the broker has not read.
PAGE_BYTES = 1000
# Seconds within which a first SIGTERM must end a process whose work in hand can finish.
STOP_BOUND_SECONDS = 30.0


class Ask(threading.Thread):
    def __init__(self, amqp_url: str, timeout: float = 90) -> None:
        super().__init__(daemon=True)
        self.amqp_url, self.timeout = amqp_url, timeout
        self.reply: Any = None

    def run(self) -> None:
        self.reply = client.call(self.amqp_url, REQUEST, self.timeout)


def exit_within(process: processes.Process, seconds: float) -> int:
    try:
        return process.popen.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{process.name} still running {seconds}s after SIGTERM") from None


def _reporter(database_url: str, amqp_url: str, proxy: TcpProxy) -> processes.Process:
    env = {
        "DATABASE_URL": proxy.url_for(database_url),
        "AMQP_URL": amqp_url,
        "REPORT_DB_RETRIES": "2",
        "REPORT_DB_RETRY_WAIT": "1s",
    }
    process = processes.python_module("reporter", env)
    wait_until(lambda: "reporter_listening" in process.logs(), what="reporter listening")
    return process


def test_shutdown_reporter_first_sigterm_finishes_the_request_in_hand(
    database_url: str, amqp_url: str
) -> None:
    with TcpProxy.for_url(database_url, 5432) as proxy:
        reporter = _reporter(database_url, amqp_url, proxy)
        with processes.running(reporter):
            proxy.cut()
            ask = Ask(amqp_url)
            ask.start()
            wait_until(lambda: "database_unavailable" in reporter.logs(), what="request in hand")
            started = time.monotonic()
            reporter.signal(signal.SIGTERM)
            assert exit_within(reporter, STOP_BOUND_SECONDS) == 0
            ask.join(30)
            assert ask.reply is not None, "the request in hand got no reply"
            assert ask.reply["error"]["code"] == "unavailable"
        scenario.record(
            fault="SIGTERM with a report in hand, database cut",
            seconds=0,
            lost=0,
            first_reply="unavailable (finished before exit)",
            exited_0_after_s=round(time.monotonic() - started, 2),
        )


def test_shutdown_reporter_second_sigterm_exits_at_once_and_the_request_survives(
    database_url: str, amqp_url: str
) -> None:
    with TcpProxy.for_url(database_url, 5432) as proxy:
        reporter = _reporter(database_url, amqp_url, proxy)
        ask = Ask(amqp_url)
        with processes.running(reporter):
            proxy.cut()
            ask.start()
            wait_until(lambda: "database_unavailable" in reporter.logs(), what="request in hand")
            reporter.signal(signal.SIGTERM)
            wait_until(lambda: "stop_requested" in reporter.logs(), what="first SIGTERM seen")
            assert reporter.alive()
            reporter.signal(signal.SIGTERM)
            assert exit_within(reporter, AT_ONCE_SECONDS) == EXIT_AT_ONCE
        proxy.restore()
        with processes.running(_reporter(database_url, amqp_url, proxy)) as successor:
            ask.join(60)
            assert ask.reply is not None and ask.reply["status"] == "ok", ask.reply
            assert successor.stop() == 0


@pytest.mark.timeout(300)
def test_shutdown_producer_page_in_hand_with_a_blocked_broker(
    database_url: str, amqp_url: str, tmp_path: Path
) -> None:
    """Confirms held back: a second SIGTERM exits at once, the cursor stays behind the queue,
    and the next producer publishes the rest; a first SIGTERM waits for the page's confirms."""
    with scenario.world(database_url, amqp_url, tmp_path, seed=17) as w:
        first = w.pipe.start_producer(**scenario.THROTTLED_PRODUCER)
        wait_until(lambda: cursor_total(w.database_url) > 0, timeout=60, what="first page")
        w.broker_proxy.pause_reads()
        wait_until(lambda: w.broker_proxy.unread_bytes() > PAGE_BYTES, what="a page in hand")
        cursor = cursor_total(w.database_url)
        first.signal(signal.SIGTERM)
        wait_until(lambda: "stop_requested" in first.logs(), what="first SIGTERM seen")
        assert first.alive()  # it waits for the confirms of the page in hand
        first.signal(signal.SIGTERM)
        assert exit_within(first, AT_ONCE_SECONDS) == EXIT_AT_ONCE
        assert cursor_total(w.database_url) <= queue_depth(w.amqp_url)
        w.broker_proxy.resume_reads()

        second = w.pipe.start_producer(**scenario.THROTTLED_PRODUCER)
        wait_until(lambda: cursor_total(w.database_url) > cursor, timeout=60, what="progress")
        w.broker_proxy.pause_reads()
        wait_until(lambda: w.broker_proxy.unread_bytes() > PAGE_BYTES, what="a page in hand")
        second.signal(signal.SIGTERM)
        wait_until(lambda: "stop_requested" in second.logs(), what="SIGTERM seen")
        assert second.alive()
        w.broker_proxy.resume_reads()  # the page in hand is confirmed now
        started = time.monotonic()
        assert exit_within(second, STOP_BOUND_SECONDS) == 0
        assert cursor_total(w.database_url) <= queue_depth(w.amqp_url)

        w.pipe.start_producer(**FAST_PRODUCER)
        w.pipe.start_consumers(2)
        scenario.wait_all_stored(w)
        counts = scenario.assert_database_equals_history(w)
        assert set(w.pipe.stop_all().values()) == {0}
    scenario.record(
        fault="SIGTERM with a page in hand, broker not reading",
        seconds=0,
        events=sum(counts.values()),
        stored=sum(counts.values()),
        lost=0,
        duplicates=0,
        exited_0_after_s=round(time.monotonic() - started, 2),
    )
