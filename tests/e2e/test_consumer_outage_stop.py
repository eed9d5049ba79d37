"""A consumer stopped during a database outage loses nothing (issue 21, item 1).

While PostgreSQL refuses the consumer (its backends are terminated over and over), the batch
in the writer's hands cannot be written; a SIGTERM then abandons it. The batch after it may
still be written once the database answers again, and its ack must not cover the abandoned
batch: before the fix, that batch's `basic_ack(multiple=True)` acknowledged the abandoned
one too, and its events were gone (not stored, not in the queue, not dead-lettered).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import orjson
import psycopg2
import pytest

from shared import topology
from tests.support import consumer_events as ev
from tests.support import processes
from tests.support.wait import wait_until

pytestmark = pytest.mark.timeout(240)

# Events published: several batches, more than one prefetch window.
TOTAL = 1_000
# Backend terminations that make sure the writer has been refused for a while (its backoff
# has grown past a second, so a SIGTERM finds it waiting, not writing).
REFUSALS_BEFORE_STOP = 6


class BackendKiller(threading.Thread):
    """Terminates the consumer's PostgreSQL backends in a loop until stopped."""

    def __init__(self, database_url: str, application_name: str) -> None:
        super().__init__(daemon=True)
        self._url = database_url
        self._application_name = application_name
        self._done = threading.Event()
        self.killed = 0

    def run(self) -> None:
        conn = psycopg2.connect(self._url)
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                while not self._done.is_set():
                    cursor.execute(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE application_name = %s AND datname = current_database()",
                        (self._application_name,),
                    )
                    row = cursor.fetchone()
                    self.killed += int(row[0]) if row else 0
                    self._done.wait(0.002)
        finally:
            conn.close()

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=30)


@contextmanager
def killing_backends(database_url: str) -> Iterator[BackendKiller]:
    killer = BackendKiller(database_url, "paas-billing-consumer")
    killer.start()
    try:
        yield killer
    finally:
        killer.stop()


def stored_guids(database_url: str) -> set[str]:
    return {str(row[0]) for row in ev.query(database_url, "SELECT guid FROM app_usage_events")}


def test_consumer_stopped_while_database_refuses_it_loses_no_event(
    database_url: str, amqp_url: str
) -> None:
    env = {
        "DATABASE_URL": database_url,
        "AMQP_URL": amqp_url,
        "LOG_LEVEL": "INFO",
        "CONSUMER_BATCH_SIZE": "50",
        "CONSUMER_PREFETCH": "200",
        "CONSUMER_BATCH_WAIT": "10ms",
    }
    messages = [ev.message(i) for i in range(1, TOTAL + 1)]
    published = {str(m.guid) for m in messages}
    with ev.publisher(amqp_url) as pub:
        with processes.running(processes.python_module("consumer", env)) as victim:
            wait_until(lambda: "consuming" in victim.logs(), what="consumer started")
            with killing_backends(database_url):
                pub.publish_messages(messages)
                wait_until(
                    lambda: victim.logs().count('"database_unavailable"') >= REFUSALS_BEFORE_STOP,
                    timeout=60,
                    what="the writer refused several times",
                )
            # The database answers again; the writer is in its backoff with a batch in hand.
            code = victim.stop(timeout=60)
            logs = victim.logs()
        assert code == 0, logs
        assert "batch_abandoned" in logs, "the test did not stop the consumer mid-outage"
        # What the victim did not store goes back to the queue when its connection closes.
        with contextlib.suppress(AssertionError):  # counted exactly below
            wait_until(
                lambda: settled(database_url, pub), timeout=15, what="every event stored or queued"
            )
        lost = published - stored_guids(database_url) - queued_guids(pub)
        assert not lost, f"{len(lost)} published events were lost"
        assert pub.queue_depth(topology.DEAD_LETTER_QUEUE) == 0


def settled(database_url: str, pub: ev.Publisher) -> bool:
    """No consumer holds deliveries, and the queue and the table hold TOTAL events at least."""
    declared = pub.channel.queue_declare(queue=topology.EVENTS_QUEUE, passive=True)
    queued = int(declared.method.message_count)
    return declared.method.consumer_count == 0 and queued + len(stored_guids(database_url)) >= TOTAL


def queued_guids(pub: ev.Publisher) -> set[str]:
    """The guids of the messages waiting in the events queue (read once, then given back)."""
    guids: set[str] = set()
    while True:
        method, _properties, body = pub.channel.basic_get(topology.EVENTS_QUEUE)
        if method is None:
            break
        guids.add(str(orjson.loads(body)["guid"]))
    pub.channel.basic_nack(delivery_tag=0, multiple=True, requeue=True)
    return guids
