"""Requests whose reply the broker refuses never starve the reporter (issue 21, items 3-5).

Each test sends the real reporter a request it cannot answer normally, then a good one, and
checks the good one is answered and the first was neither requeued nor looped on:

- a `reply_to` queue that rejects every message (`x-max-length` 0, `reject-publish`): the
  broker nacks the reply; before the fix the request was nacked with requeue, forever;
- a forged direct reply-to address, over which RabbitMQ closes the publisher's connection;
- a reply larger than the broker takes: a `report_too_large` error reply instead;
- a request with a header pika cannot decode (a timestamp of 2^62): an `invalid_request`
  reply naming `properties`, or, without a readable `reply_to`, dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pika
import pytest

from shared import topology
from tests.support import event_rows, processes
from tests.support.poison import TimestampHeaderProperties
from tests.support.wait import wait_until

pytestmark = pytest.mark.timeout(300)

T0 = datetime(2026, 10, 1, tzinfo=UTC)
GOOD = orjson.dumps({"from": "2026-10-01T00:00:00Z", "to": "2026-10-02T00:00:00Z"})
# An address of RabbitMQ's direct reply-to whose encoded part the broker fails to decode: it
# closes the connection that published to it (541 INTERNAL_ERROR, RabbitMQ 3.10).
FORGED_DIRECT_REPLY_TO = "amq.rabbitmq.reply-to.g1h2AA5yZXBseUAxOTE2NjA3NgAAAAAAAAAAAAAAAA==.x"


class Client:
    """A raw AMQP client: any properties on a request, replies collected by correlation id."""

    def __init__(self, url: str) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        self.reply_to = self.channel.queue_declare("", exclusive=True).method.queue
        self.replies: dict[str, dict[str, Any]] = {}
        self.channel.basic_consume(self.reply_to, self._on_reply, auto_ack=True)

    def _on_reply(self, _ch: Any, _m: Any, props: Any, body: bytes) -> None:
        self.replies[props.correlation_id] = orjson.loads(body)

    def send(self, body: bytes = GOOD, properties: Any = None, **fields: Any) -> str:
        cid = str(uuid.uuid4())
        fields.setdefault("reply_to", self.reply_to)
        props = properties or pika.BasicProperties(
            correlation_id=cid, content_type="application/json", **fields
        )
        if properties is not None:
            props.correlation_id = cid
        self.channel.basic_publish("", topology.REPORT_REQUESTS_QUEUE, body, props)
        return cid

    def wait(self, cid: str, timeout: float = 60) -> dict[str, Any]:
        def arrived() -> bool:
            self.connection.process_data_events(time_limit=0.1)
            return cid in self.replies

        wait_until(arrived, timeout=timeout, what=f"reply {cid}")
        return self.replies[cid]

    def requests_waiting(self) -> int:
        declared = self.channel.queue_declare(topology.REPORT_REQUESTS_QUEUE, passive=True)
        return int(declared.method.message_count)


@pytest.fixture
def client(amqp_url: str) -> Iterator[Client]:
    rpc = Client(amqp_url)
    yield rpc
    rpc.connection.close()


def start_reporter(database_url: str, amqp_url: str, **extra: str) -> processes.Process:
    env = {"DATABASE_URL": database_url, "AMQP_URL": amqp_url, "LOG_LEVEL": "INFO", **extra}
    process = processes.python_module("reporter", env)
    wait_until(lambda: "reporter_listening" in process.logs(), what="reporter listening")
    return process


def assert_answered_once(reporter: processes.Process, client: Client) -> None:
    """A good request is answered, and nothing waits in (or went back to) the request queue."""
    reply = client.wait(client.send())
    assert reply["status"] == "ok", reply
    assert client.requests_waiting() == 0
    assert reporter.logs().count("reporter_listening") == 1, "the reporter reconnected"


def test_reporter_drops_a_reply_its_queue_refuses_and_answers_the_next(
    database_url: str, amqp_url: str, client: Client
) -> None:
    client.channel.queue_declare(
        "refusing", arguments={"x-max-length": 0, "x-overflow": "reject-publish"}
    )
    with processes.running(start_reporter(database_url, amqp_url)) as reporter:
        client.send(reply_to="refusing")
        assert_answered_once(reporter, client)
        logs = reporter.logs()
    assert '"reply_dropped"' in logs and '"refused"' in logs


def test_reporter_survives_a_forged_direct_reply_to_address(
    database_url: str, amqp_url: str, client: Client
) -> None:
    with processes.running(start_reporter(database_url, amqp_url)) as reporter:
        client.send(reply_to=FORGED_DIRECT_REPLY_TO)
        assert_answered_once(reporter, client)
        assert '"reply_dropped"' in reporter.logs()


def test_reporter_answers_a_report_over_its_reply_limit_with_report_too_large(
    database_url: str, amqp_url: str, client: Client
) -> None:
    history = event_rows.History()
    for number in range(400):
        history.app(T0 - timedelta(days=1), "STARTED", process_guid=f"p-{number}", app_name="a")
    event_rows.insert(database_url, history)
    reporter = start_reporter(database_url, amqp_url, REPORT_MAX_REPLY_BYTES="65536")
    with processes.running(reporter):
        too_large = client.wait(client.send())
        narrow = orjson.dumps({**orjson.loads(GOOD), "group_by": "org"})
        assert client.wait(client.send(narrow))["status"] == "ok"
        assert client.requests_waiting() == 0
    assert too_large["status"] == "error"
    assert too_large["error"]["code"] == "report_too_large"
    assert "65536" in too_large["error"]["message"]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.slow
def test_reporter_refuses_a_reply_over_the_brokers_message_size_and_gives_memory_back(
    database_url: str, amqp_url: str, client: Client
) -> None:
    """Three processes named with 45 MB each: a reply of 135 MB, over RabbitMQ's default
    128 MiB max_message_size. Before the fix the broker closed the channel over it, the
    request came back, and the reporter grew to GBs; now the reply is an error, the next
    request is answered, and the reporter's memory returns to near where it started."""
    history = event_rows.History()
    for number in range(3):
        name = f"{number}" * (45 * 1000 * 1000)
        history.app(T0 - timedelta(days=1), "STARTED", process_guid=f"p-{number}", app_name=name)
    event_rows.insert(database_url, history)
    with processes.running(start_reporter(database_url, amqp_url)) as reporter:
        before = rss_bytes(reporter.pid)
        too_large = client.wait(client.send(), timeout=120)
        assert too_large["status"] == "error", reporter.logs()
        assert too_large["error"]["code"] == "report_too_large"
        narrow = orjson.dumps({**orjson.loads(GOOD), "group_by": "org"})
        assert client.wait(client.send(narrow), timeout=120)["status"] == "ok"
        assert client.requests_waiting() == 0
        after = rss_bytes(reporter.pid)
    assert after < before + 150 * 1024 * 1024, (before, after)


def test_reporter_answers_a_request_with_an_unreadable_header_and_carries_on(
    database_url: str, amqp_url: str, client: Client
) -> None:
    poisoned = TimestampHeaderProperties(reply_to=client.reply_to, content_type="x")
    with processes.running(start_reporter(database_url, amqp_url)) as reporter:
        reply = client.wait(client.send(properties=poisoned))
        client.send(properties=TimestampHeaderProperties())  # no reply_to: dropped
        assert_answered_once(reporter, client)
        logs = reporter.logs()
    assert reply["status"] == "error"
    assert reply["error"]["code"] == "invalid_request"
    assert reply["error"]["field"] == "properties"
    assert "x-sent-at" in reply["error"]["message"]
    assert logs.count('"request_unreadable"') == 2 and '"request_dropped"' in logs
