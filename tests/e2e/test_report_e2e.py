"""The real reporter process answers the real `paas-billing report` client over RabbitMQ."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pika
import pytest

from shared import topology
from tests.support import event_rows, processes
from tests.support.wait import wait_until

T0 = datetime(2026, 10, 1, tzinfo=UTC)
GOOD = {"from": "2026-10-01T00:00:00Z", "to": "2026-10-02T00:00:00Z"}


@pytest.fixture
def reporter(database_url: str, amqp_url: str) -> Iterator[processes.Process]:
    env = {"DATABASE_URL": database_url, "AMQP_URL": amqp_url, "LOG_LEVEL": "INFO"}
    with processes.running(processes.python_module("reporter", env)) as process:
        wait_until(lambda: "reporter_listening" in process.logs(), what="reporter listening")
        yield process


class Rpc:
    """A raw AMQP client to send any body, with or without reply_to."""

    def __init__(self, url: str, direct_reply_to: bool = False) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        if direct_reply_to:
            self.reply_to = "amq.rabbitmq.reply-to"
        else:
            declared = self.channel.queue_declare("", exclusive=True, auto_delete=True)
            self.reply_to = declared.method.queue
        self.replies: dict[str, dict[str, Any]] = {}
        self.channel.basic_consume(self.reply_to, self._on_reply, auto_ack=True)

    def _on_reply(self, _ch: Any, _m: Any, props: Any, body: bytes) -> None:
        self.replies[props.correlation_id] = orjson.loads(body)

    def send(self, body: bytes, reply: bool = True) -> str:
        cid = str(uuid.uuid4())
        props = pika.BasicProperties(
            correlation_id=cid,
            reply_to=self.reply_to if reply else None,
            content_type="application/json",
        )
        self.channel.basic_publish("", topology.REPORT_REQUESTS_QUEUE, body, props)
        return cid

    def wait(self, cid: str) -> dict[str, Any]:
        def arrived() -> bool:
            self.connection.process_data_events(time_limit=0.1)
            return cid in self.replies

        wait_until(arrived, timeout=30, what=f"reply {cid}")
        return self.replies[cid]


def report_cli(amqp_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"AMQP_URL": amqp_url, "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "paas_billing", "report", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_report_e2e_client_prints_report(
    reporter: processes.Process, database_url: str, amqp_url: str
) -> None:
    """A process running 2 x 1 GB all day: 48 GB-hours in the table, JSON and CSV."""
    history = event_rows.History()
    history.app(
        T0 - timedelta(days=1), "STARTED", process_guid="p" * 36, app_name="shop",
        org_guid="org-a", space_guid="space-a", instance_count=2,
    )  # fmt: skip
    event_rows.insert(database_url, history)
    window = ("--from", "2026-10-01", "--to", "2026-10-02")
    table = report_cli(amqp_url, *window)
    assert table.returncode == 0, table.stderr
    assert "shop" in table.stdout and "48.00" in table.stdout
    as_json = report_cli(amqp_url, *window, "--format", "json", "--org", "org-a")
    assert orjson.loads(as_json.stdout)["totals"]["memory_gb_hours"] == 48.0
    as_csv = report_cli(amqp_url, *window, "--format", "csv", "--group-by", "org")
    assert as_csv.stdout.splitlines()[1] == "app,f1,org-a,48.0,48.0,0.0"
    assert as_csv.stdout.splitlines()[2] == "TOTAL,,,48.0,48.0,0.0"
    assert "report_answered" in reporter.logs()


def test_report_e2e_client_errors_and_timeout(amqp_url: str, reporter: processes.Process) -> None:
    naive = report_cli(amqp_url, "--from", "2026-10-01T00:00:00", "--to", "2026-10-02")
    assert naive.returncode == 2 and "offset" in naive.stderr
    backwards = report_cli(amqp_url, "--from", "2026-10-02", "--to", "2026-10-01")
    assert backwards.returncode == 1 and "invalid_request" in backwards.stderr
    assert report_cli(amqp_url, "--help").returncode == 0
    reporter.stop()
    late = report_cli(amqp_url, "--from", "2026-10-01", "--to", "2026-10-02", "--timeout", "1s")
    assert late.returncode == 3 and "timed out" in late.stderr


BAD_REQUESTS = [
    (b"not json", None),
    (orjson.dumps({"to": GOOD["to"]}), "from"),
    (orjson.dumps({**GOOD, "to": "tomorrow"}), "to"),
    (orjson.dumps({**GOOD, "from": GOOD["to"]}), "from"),
    (orjson.dumps({**GOOD, "group_by": "planet"}), "group_by"),
    (orjson.dumps({**GOOD, "org_guids": [1, 2]}), "org_guids"),
    (orjson.dumps({**GOOD, "space_guids": "s"}), "space_guids"),
    (b'{"from": "' + b"9" * (2 * 1024 * 1024) + b'"}', None),
    (b"[" * 100_000 + b"]" * 100_000, None),
]


def test_report_e2e_malformed_requests_get_errors_and_next_is_answered(
    reporter: processes.Process, amqp_url: str
) -> None:
    rpc = Rpc(amqp_url)
    dropped = rpc.send(orjson.dumps(GOOD), reply=False)
    for body, field in BAD_REQUESTS:
        reply = rpc.wait(rpc.send(body))
        assert reply["status"] == "error"
        assert reply["error"]["code"] == "invalid_request"
        assert reply["error"]["field"] == field, reply
        good = rpc.wait(rpc.send(orjson.dumps(GOOD)))
        assert good["status"] == "ok"
    assert dropped not in rpc.replies
    assert "request_dropped" in reporter.logs()
    assert reporter.alive()
    rpc.connection.close()


def test_report_e2e_sigterm_exits_zero(reporter: processes.Process) -> None:
    assert reporter.stop() == 0
    assert "reporter_stopped" in reporter.logs()


def test_report_e2e_second_sigterm_exits_at_once(database_url: str) -> None:
    """With the broker unreachable the reporter waits; a second SIGTERM ends it at once."""
    env = {"DATABASE_URL": database_url, "AMQP_URL": "amqp://guest:guest@127.0.0.1:1/%2f"}
    with processes.running(processes.python_module("reporter", env)) as process:
        wait_until(lambda: "broker_unavailable" in process.logs(), what="broker wait")
        process.signal(signal.SIGTERM)
        process.signal(signal.SIGTERM)
        assert process.popen.wait(timeout=10) in (0, 143)


def test_report_e2e_direct_reply_to_is_answered_without_a_false_unroutable(
    amqp_url: str, reporter: processes.Process
) -> None:
    rpc = Rpc(amqp_url, direct_reply_to=True)
    try:
        reply = rpc.wait(rpc.send(orjson.dumps(GOOD)))
    finally:
        rpc.connection.close()
    assert reply["status"] == "ok"
    wait_until(lambda: "report_answered" in reporter.logs(), what="the answer logged")
    assert "reply_unroutable" not in reporter.logs()
