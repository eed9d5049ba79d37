"""`paas-billing demo` against the local services: reaches a first report, exits 0 on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support import services
from tests.support.wait import wait_until

pytestmark = pytest.mark.skipif(
    not (
        services.reachable(services.LOCAL_POSTGRES, 5432)
        and services.reachable(services.LOCAL_AMQP, 5672)
    ),
    reason="the demo runs against PostgreSQL and RabbitMQ on this machine",
)


def test_demo_reaches_a_first_report_and_stops_cleanly_on_sigint() -> None:
    output = Path(tempfile.mkstemp(prefix="pb-demo-", suffix=".log")[1])
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "paas_billing", "demo", "--events", "1500", "--consumers", "2"],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(lambda: "TOTAL" in output.read_text(), timeout=180, what="the first report")
            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=90)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    text = output.read_text()
    assert code == 0, text
    assert "First report: usage per org" in text
    assert "published" in text and "stored" in text
    stopped = text.splitlines()[-1]
    assert stopped.startswith("demo: stopped (")
    assert all(
        part.endswith(" 0") for part in stopped.removeprefix("demo: stopped (")[:-1].split(", ")
    )
    for name in ("simulator", "producer", "consumer-1", "consumer-2", "reporter"):
        assert name in stopped
