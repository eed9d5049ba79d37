"""`paas-billing demo` against the local services: reaches a first report, exits 0 on Ctrl-C."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from tests.support import event_rows, services
from tests.support.wait import wait_until

pytestmark = pytest.mark.skipif(
    not (
        services.reachable(services.LOCAL_POSTGRES, 5432)
        and services.reachable(services.LOCAL_AMQP, 5672)
    ),
    reason="the demo runs against PostgreSQL and RabbitMQ on this machine",
)


def test_demo_reaches_a_first_report_and_stops_cleanly_on_sigint(
    database_url: str, amqp_url: str
) -> None:
    """Run on this test's own database and vhost (DATABASE_URL, AMQP_URL): a developer's
    own demo database and the local vhost `/` are never touched, and the fixtures remove
    what the demo keeps."""
    output = Path(tempfile.mkstemp(prefix="pb-demo-", suffix=".log")[1])
    run_demo(output, {"DATABASE_URL": database_url, "AMQP_URL": amqp_url})
    text = output.read_text()
    assert "First report: usage per org" in text
    assert re.search(r"First bill: the same 31 days at the sample prices, in GBP", text)
    assert re.search(r"  total: ex VAT \d+\.\d\d  VAT \d+\.\d\d  inc VAT \d+\.\d\d", text)
    assert "published" in text and "stored" in text
    stopped = next(line for line in text.splitlines() if line.startswith("demo: stopped ("))
    assert all(
        part.endswith(" 0") for part in stopped.removeprefix("demo: stopped (")[:-1].split(", ")
    )
    for name in ("simulator", "producer", "consumer-1", "consumer-2", "reporter", "api"):
        assert name in stopped
    kept = text.splitlines()[-1]
    vhost = amqp_url.rsplit("/", 1)[1]
    assert kept.startswith("demo: kept for a look: the database (") and vhost in kept
    logs = Path(re.search(r"demo: logs in (\S+)", text).group(1))  # type: ignore[union-attr]
    shutil.rmtree(logs)
    check_the_printed_api_calls(text)
    output.unlink()


def test_demo_refuses_a_database_that_holds_events(database_url: str, amqp_url: str) -> None:
    history = event_rows.History()
    history.app(datetime(2026, 10, 1, tzinfo=UTC), "STARTED", process_guid="p" * 36)
    event_rows.insert(database_url, history)
    result = subprocess.run(
        [sys.executable, "-m", "paas_billing", "demo"],
        env={**os.environ, "DATABASE_URL": database_url, "AMQP_URL": amqp_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "already holds 1 app" in result.stderr


def test_demo_help_says_what_it_creates_empties_and_keeps() -> None:
    text = subprocess.run(
        [sys.executable, "-m", "paas_billing", "demo", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    for word in ("DROPS", "EMPTIES", "KEEPS", "DATABASE_URL", "AMQP_URL"):
        assert word in text


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


def run_demo(output: Path, env: dict[str, str]) -> None:
    """Run the demo until its first report, then Ctrl-C it; it must exit 0."""
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "paas_billing", "demo", "--events", "1500", "--consumers", "2"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
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
