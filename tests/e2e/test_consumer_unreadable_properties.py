"""An event whose properties cannot be read is set aside alone (issue 21, item 5).

A header of AMQP timestamp type holding 2^62 is valid on the wire, but pika cannot decode
it. Before the fix the consumer's connection dropped each time the message was delivered,
until the queue's delivery limit dead-lettered it together with good events delivered beside
it, and `dead-letters list` and `replay` then failed for the whole queue. Now the consumer
dead-letters that one message with the reason, stores every other, and the dead-letter tools
read it, and a message held with such a header, and replay both.
"""

from __future__ import annotations

import subprocess
import sys

import orjson
import pika
import pytest

from shared import events, topology
from tests.support import consumer_events as ev
from tests.support import processes
from tests.support.poison import TimestampHeaderProperties
from tests.support.wait import wait_until

pytestmark = pytest.mark.timeout(240)

# Good events published before and after the poisoned one.
GOOD_EACH_SIDE = 100


def dead_letters(amqp_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "paas_billing", "dead-letters", *args],
        env={"AMQP_URL": amqp_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def publish_poisoned(pub: ev.Publisher, exchange: str, body: bytes) -> None:
    pub.channel.basic_publish(
        exchange=exchange,
        routing_key="app",
        body=body,
        properties=TimestampHeaderProperties(
            content_type="application/json", delivery_mode=2, headers={"kept": "yes"}
        ),
        mandatory=True,
    )


def test_consumer_sets_aside_an_event_with_an_unreadable_header_and_stores_the_rest(
    database_url: str, amqp_url: str
) -> None:
    env = {"DATABASE_URL": database_url, "AMQP_URL": amqp_url, "CONSUMER_PREFETCH": "500"}
    before = [ev.message(i) for i in range(1, GOOD_EACH_SIDE + 1)]
    poisoned = ev.message(GOOD_EACH_SIDE + 1)
    after = [ev.message(GOOD_EACH_SIDE + 1 + i) for i in range(1, GOOD_EACH_SIDE + 1)]
    # The broker holds one like it already, dead-lettered as the delivery limit would.
    held = ev.message(3 * GOOD_EACH_SIDE)
    with ev.publisher(amqp_url) as pub:
        pub.publish_messages(before)
        publish_poisoned(pub, topology.EVENTS_EXCHANGE, events.encode(poisoned))
        pub.publish_messages(after)
        publish_poisoned(pub, topology.DEAD_LETTER_EXCHANGE, events.encode(held))
        with processes.running(processes.python_module("consumer", env)) as consumer:
            wait_until(
                lambda: ev.count_rows(database_url) == 2 * GOOD_EACH_SIDE,
                timeout=60,
                what="every good event stored",
            )
            wait_until(
                lambda: pub.queue_depth(topology.DEAD_LETTER_QUEUE) == 2,
                what="the poisoned event dead-lettered",
            )
            listed = dead_letters(amqp_url, "list", "--format", "json")
            assert listed.returncode == 0, listed.stderr
            letters = {item["guid"]: item for item in orjson.loads(listed.stdout)}
            assert "x-sent-at" in letters[str(poisoned.guid)]["reason"]
            assert letters[str(poisoned.guid)]["reason"].startswith("properties:")
            assert "cannot be read" in letters[None]["reason"]
            assert pub.queue_depth(topology.DEAD_LETTER_QUEUE) == 2, "list removed nothing"
            replayed = dead_letters(amqp_url, "replay", "--all")
            assert replayed.returncode == 0, replayed.stderr
            wait_until(
                lambda: ev.count_rows(database_url) == 2 * GOOD_EACH_SIDE + 2,
                what="the replayed events stored",
            )
            assert consumer.logs().count('"consuming"') == 1, "the consumer reconnected"
            assert consumer.stop() == 0
        assert pub.queue_depth(topology.DEAD_LETTER_QUEUE) == 0
        assert pub.queue_depth(topology.EVENTS_QUEUE) == 0


def test_unreadable_properties_reach_the_dead_letters_without_the_unreadable_header(
    amqp_url: str, database_url: str
) -> None:
    env = {"DATABASE_URL": database_url, "AMQP_URL": amqp_url}
    event = ev.message(1)
    with ev.publisher(amqp_url) as pub:
        publish_poisoned(pub, topology.EVENTS_EXCHANGE, events.encode(event))
        with processes.running(processes.python_module("consumer", env)) as consumer:
            wait_until(lambda: pub.queue_depth(topology.DEAD_LETTER_QUEUE) == 1, what="set aside")
            assert consumer.stop() == 0
        method, properties, body = pub.channel.basic_get(topology.DEAD_LETTER_QUEUE, auto_ack=True)
    assert method is not None and body == events.encode(event)
    assert isinstance(properties, pika.BasicProperties)
    headers = properties.headers
    assert headers["kept"] == "yes" and "x-sent-at" not in headers
    assert headers["x-paas-billing-guid"] == str(event.guid)
    assert "x-sent-at" in headers["x-paas-billing-reason"]
