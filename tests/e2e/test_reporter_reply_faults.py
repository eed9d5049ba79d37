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

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from tests.support import event_rows, processes, rpc
from tests.support.poison import TimestampHeaderProperties

pytestmark = pytest.mark.timeout(300)

T0 = datetime(2026, 10, 1, tzinfo=UTC)
# An address of RabbitMQ's direct reply-to whose encoded part the broker fails to decode: it
# closes the connection that published to it (541 INTERNAL_ERROR, RabbitMQ 3.10).
FORGED_DIRECT_REPLY_TO = "amq.rabbitmq.reply-to.g1h2AA5yZXBseUAxOTE2NjA3NgAAAAAAAAAAAAAAAA==.x"


@pytest.fixture
def client(amqp_url: str) -> Iterator[rpc.Client]:
    raw = rpc.Client(amqp_url)
    yield raw
    raw.connection.close()


def assert_answered_once(reporter: processes.Process, client: rpc.Client) -> None:
    """A good request is answered, and nothing waits in (or went back to) the request queue."""
    reply = client.wait(client.send())
    assert reply["status"] == "ok", reply
    assert client.requests_waiting() == 0
    assert reporter.logs().count("reporter_listening") == 1, "the reporter reconnected"


def test_reporter_drops_a_reply_its_queue_refuses_and_answers_the_next(
    database_url: str, amqp_url: str, client: rpc.Client
) -> None:
    client.channel.queue_declare(
        "refusing", arguments={"x-max-length": 0, "x-overflow": "reject-publish"}
    )
    with processes.running(rpc.start_reporter(database_url, amqp_url)) as reporter:
        client.send(reply_to="refusing")
        assert_answered_once(reporter, client)
        logs = reporter.logs()
    assert '"reply_dropped"' in logs and '"refused"' in logs


def test_reporter_survives_a_forged_direct_reply_to_address(
    database_url: str, amqp_url: str, client: rpc.Client
) -> None:
    with processes.running(rpc.start_reporter(database_url, amqp_url)) as reporter:
        client.send(reply_to=FORGED_DIRECT_REPLY_TO)
        assert_answered_once(reporter, client)
        assert '"reply_dropped"' in reporter.logs()


def test_reporter_answers_a_report_over_its_reply_limit_with_report_too_large(
    database_url: str, amqp_url: str, client: rpc.Client
) -> None:
    history = event_rows.History()
    for number in range(400):
        history.app(T0 - timedelta(days=1), "STARTED", process_guid=f"p-{number}", app_name="a")
    event_rows.insert(database_url, history)
    reporter = rpc.start_reporter(database_url, amqp_url, REPORT_MAX_REPLY_BYTES="65536")
    with processes.running(reporter):
        too_large = client.wait(client.send())
        narrow = orjson.dumps({**orjson.loads(rpc.GOOD), "group_by": "org"})
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
    database_url: str, amqp_url: str, client: rpc.Client
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
    with processes.running(rpc.start_reporter(database_url, amqp_url)) as reporter:
        before = rss_bytes(reporter.pid)
        too_large = client.wait(client.send(), timeout=120)
        assert too_large["status"] == "error", reporter.logs()
        assert too_large["error"]["code"] == "report_too_large"
        narrow = orjson.dumps({**orjson.loads(rpc.GOOD), "group_by": "org"})
        assert client.wait(client.send(narrow), timeout=120)["status"] == "ok"
        assert client.requests_waiting() == 0
        after = rss_bytes(reporter.pid)
    # Measured: 50 MB at start, a peak near 360 MB, 100-140 MB after; before the fix, GBs.
    assert after < before + 256 * 1024 * 1024, (before, after)


def test_reporter_answers_a_request_with_an_unreadable_header_and_carries_on(
    database_url: str, amqp_url: str, client: rpc.Client
) -> None:
    poisoned = TimestampHeaderProperties(reply_to=client.reply_to, content_type="x")
    with processes.running(rpc.start_reporter(database_url, amqp_url)) as reporter:
        reply = client.wait(client.send(properties=poisoned))
        client.send(properties=TimestampHeaderProperties())  # no reply_to: dropped
        assert_answered_once(reporter, client)
        logs = reporter.logs()
    assert reply["status"] == "error"
    assert reply["error"]["code"] == "invalid_request"
    assert reply["error"]["field"] == "properties"
    assert "x-sent-at" in reply["error"]["message"]
    assert logs.count('"request_unreadable"') == 2 and '"request_dropped"' in logs
