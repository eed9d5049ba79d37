"""`paas-billing demo` against the local services: reaches a first report, exits 0 on Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pika
import psycopg2
import pytest
import requests
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
    assert re.search(r"First bill: the same 31 days at the sample prices, in GBP", text)
    assert re.search(r"  total: ex VAT \d+\.\d\d  VAT \d+\.\d\d  inc VAT \d+\.\d\d", text)
    assert "published" in text and "stored" in text
    stopped = text.splitlines()[-1]
    assert stopped.startswith("demo: stopped (")
    assert all(
        part.endswith(" 0") for part in stopped.removeprefix("demo: stopped (")[:-1].split(", ")
    )
    for name in ("simulator", "producer", "consumer-1", "consumer-2", "reporter", "api"):
        assert name in stopped
    check_the_printed_api_calls(text)
    output.unlink()


def check_the_printed_api_calls(text: str) -> None:
    """The printed commands' users get what the demo says: admin 200, the billing manager
    200 for their org, no-role 403. (Run after the demo stopped: the users are the
    simulator's, so only the printed shape and the statuses seen by the demo are checked.)"""
    assert "HTTP API at http://127.0.0.1:" in text
    for user in ("admin", "billing-manager", "no-role"):
        assert f"-d username={user} -d password={user}" in text
    assert re.search(r"billing-manager \(billing manager of org \S+\)", text)
    assert "/v1/usage?from=" in text
    assert re.search(r"Dashboard at http://127\.0\.0\.1:\d+/ ", text)
    assert "billing-manager / billing-manager" in text


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
            wait_until(lambda: "a 403." in output.read_text(), timeout=60, what="API instructions")
            check_the_api_as_each_demo_user(output.read_text())
            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=90)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert code == 0, output.read_text()


def check_the_api_as_each_demo_user(text: str) -> None:
    """While the demo runs: each demo user's token gets what the instructions promise."""
    cf_url = re.search(r"demo: simulator at (\S+)", text)
    api_url = re.search(r"HTTP API at (\S+)", text)
    query = re.search(r"/v1/usage\?(\S+)'", text)
    assert cf_url and api_url and query, text
    expected = {"admin": 200, "billing-manager": 200, "no-role": 403}
    for user, status in expected.items():
        token = requests.post(
            cf_url.group(1) + "/oauth/token",
            auth=("cf", ""),
            data={"grant_type": "password", "username": user, "password": user},
            timeout=10,
        ).json()["access_token"]
        answer = requests.get(
            f"{api_url.group(1)}/v1/usage?{query.group(1)}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert answer.status_code == status, (user, answer.text)
    front = requests.get(api_url.group(1) + "/", timeout=10)
    assert front.status_code == 200 and 'href="/sign-in"' in front.text
