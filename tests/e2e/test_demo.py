"""`paas-billing demo` against the local services: reaches a first report, exits 0 on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pika
import psycopg2
import pytest
from psycopg2 import sql

from paas_billing.demo import DEMO_DATABASE
from shared import topology
from tests.support import services
from tests.support.wait import wait_until

pytestmark = pytest.mark.skipif(
    not (
        services.reachable(services.LOCAL_POSTGRES, 5432)
        and services.reachable(services.LOCAL_AMQP, 5672)
    ),
    reason="the demo runs against PostgreSQL and RabbitMQ on this machine",
)


def remove_what_the_demo_keeps() -> None:
    """The demo keeps its database and its queues for a look afterwards; a test does not."""
    admin = psycopg2.connect(services.LOCAL_POSTGRES)
    admin.autocommit = True
    with admin.cursor() as cursor:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        cursor.execute(drop.format(sql.Identifier(DEMO_DATABASE)))
    admin.close()
    connection = pika.BlockingConnection(pika.URLParameters(services.LOCAL_AMQP))
    channel = connection.channel()
    for queue in (
        topology.EVENTS_QUEUE,
        topology.DEAD_LETTER_QUEUE,
        topology.REPORT_REQUESTS_QUEUE,
    ):
        channel.queue_delete(queue)
    for exchange in (topology.EVENTS_EXCHANGE, topology.DEAD_LETTER_EXCHANGE):
        channel.exchange_delete(exchange)
    connection.close()


def test_demo_reaches_a_first_report_and_stops_cleanly_on_sigint() -> None:
    output = Path(tempfile.mkstemp(prefix="pb-demo-", suffix=".log")[1])
    try:
        run_demo(output)
    finally:
        remove_what_the_demo_keeps()
    text = output.read_text()
    assert "First report: usage per org" in text
    assert "published" in text and "stored" in text
    stopped = text.splitlines()[-1]
    assert stopped.startswith("demo: stopped (")
    assert all(
        part.endswith(" 0") for part in stopped.removeprefix("demo: stopped (")[:-1].split(", ")
    )
    for name in ("simulator", "producer", "consumer-1", "consumer-2", "reporter"):
        assert name in stopped
    output.unlink()


def run_demo(output: Path) -> None:
    """Run the demo until its first report, then Ctrl-C it; it must exit 0."""
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
    assert code == 0, output.read_text()
