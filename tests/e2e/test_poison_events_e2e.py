"""Events that PostgreSQL would refuse for their content never block a consumer (issue 21):
over a length limit they are dead-lettered by the decoder, naming the field; within the limits
but unindexable they are split out of their batch and dead-lettered with the SQLSTATE; every
event published after them is stored."""

from __future__ import annotations

import random
from typing import Any

import pika

from consumer import dead_letters
from shared import topology
from tests.support import consumer_events as ev
from tests.support import pipeline, processes
from tests.support.wait import wait_until

GOOD = 200


def _dead_letter_reasons(amqp_url: str) -> dict[str, str]:
    """guid -> reason of every dead letter (read with basic_get, then requeued)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    found: dict[str, str] = {}
    tags = []
    while True:
        method, properties, _ = channel.basic_get(topology.DEAD_LETTER_QUEUE)
        if method is None:
            break
        tags.append(method.delivery_tag)
        headers: dict[str, Any] = properties.headers or {}
        found[str(headers.get(dead_letters.GUID_HEADER))] = str(headers[topology.REASON_HEADER])
    for tag in tags:
        channel.basic_nack(tag, requeue=True)
    connection.close()
    return found


def _unindexable(seed: int) -> str:
    rng = random.Random(seed)
    return "".join(chr(0x4E00 + rng.randrange(20_000)) for _ in range(255))


def test_poison_events_are_set_aside_and_every_later_event_is_stored(
    database_url: str, amqp_url: str
) -> None:
    long_org = ev.new_guid()
    huge_name = ev.new_guid()
    unindexable = ev.new_guid()
    poison = [
        ev.message(1, guid=long_org, resource=ev.v2_app_resource(long_org, org_guid="o" * 8000)),
        ev.message(
            2, guid=huge_name, resource=ev.v2_app_resource(huge_name, app_name="n" * 1_000_000)
        ),
        ev.message(
            3,
            guid=unindexable,
            resource=ev.v2_app_resource(
                unindexable, state="TASK_STARTED", app_guid="", org_guid=_unindexable(1),
                task_guid=_unindexable(2), space_guid=_unindexable(3), task_name=_unindexable(4),
            ),
        ),
    ]  # fmt: skip
    good = [ev.message(n) for n in range(4, 4 + GOOD)]
    env = pipeline.consumer_env(database_url, amqp_url, CONSUMER_PREFETCH="100")
    with (
        ev.publisher(amqp_url) as pub,
        processes.running(processes.python_module("consumer", env)) as consumer,
    ):
        pub.publish_messages([*poison, *good])
        wait_until(
            lambda: ev.count_rows(database_url) == GOOD,
            timeout=60,
            what=f"the {GOOD} good events stored",
        )
        wait_until(
            lambda: pub.queue_depth(topology.DEAD_LETTER_QUEUE) == len(poison),
            what="the poison events dead-lettered",
        )
        assert consumer.stop() == 0
    reasons = _dead_letter_reasons(amqp_url)
    assert reasons[long_org].startswith("org_guid: Expected `str` of length <= 255 (got 'ooo")
    assert reasons[huge_name].startswith("body: ") and "more than the 131072" in reasons[huge_name]
    assert "(SQLSTATE 54000)" in reasons[unindexable], reasons[unindexable]
    stored = ev.query(database_url, "SELECT id FROM app_usage_events ORDER BY id")
    assert [row[0] for row in stored] == [m.sequence for m in good]
