"""One poll end to end against real RabbitMQ and PostgreSQL, with a scripted event source:
the cursor moves only after confirms; a lost cursor records a gap and keeps numbering."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import msgspec
import orjson
import pika
import psycopg2
import pytest
from prometheus_client import CollectorRegistry

from producer import poller
from producer.cursor import CursorStore
from producer.metrics import ProducerMetrics
from producer.page import FetchedEvent
from producer.publisher import Publisher
from producer.runner import Runner
from shared import errors, events, topology
from shared.shutdown import StopSignal
from shared.states import ApiVersion, EventKind
from tests.support import consumer_events as ev

TIMING = poller.Timing(timedelta(minutes=1), timedelta(seconds=3), timedelta(minutes=5))


def old_event() -> FetchedEvent:
    guid = str(uuid.uuid4())
    created = datetime.now(UTC) - timedelta(hours=1)
    text = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    resource = {"metadata": {"guid": guid, "created_at": text}, "entity": {}}
    return FetchedEvent(guid, created, text, msgspec.Raw(orjson.dumps(resource)), False)


class ScriptedSource:
    """A CF API stand-in: events per kind; after_guid must be known unless `lost`."""

    def __init__(self, events: list[FetchedEvent]) -> None:
        self.events = events
        self.lost: set[str] = set()

    def fetch(self, kind: EventKind, after_guid: str | None, limit: int) -> list[FetchedEvent]:
        if kind is EventKind.SERVICE:
            return []
        if after_guid in self.lost:
            raise errors.CursorLost(after_guid or "")
        guids = [e.guid for e in self.events]
        start = 0 if after_guid is None else guids.index(after_guid) + 1
        return self.events[start : start + limit]

    def event(self, kind: EventKind, guid: str) -> FetchedEvent | None:
        return next((e for e in self.events if e.guid == guid), None)


def _runner(
    database_url: str, amqp_url: str, source: ScriptedSource
) -> tuple[Runner, CursorStore, Publisher]:
    store = CursorStore(database_url, "default")
    publisher = Publisher(amqp_url)
    runner = Runner(
        foundation="default",
        api_version=ApiVersion.V2,
        fetch_limit=10,
        timing=TIMING,
        database_url=database_url,
        cloud_controller=source,
        publisher=publisher,
        store=store,
        metrics=ProducerMetrics(CollectorRegistry()),
        stop=StopSignal(),
    )
    runner.prepare()
    return runner, store, publisher


@pytest.fixture
def parts(database_url: str, amqp_url: str) -> Iterator[tuple[Runner, ScriptedSource, Publisher]]:
    source = ScriptedSource([old_event() for _ in range(25)])
    runner, store, publisher = _runner(database_url, amqp_url, source)
    yield runner, source, publisher
    publisher.close()
    store.close()


def queued(amqp_url: str) -> list[events.Message]:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        out = []
        while True:
            method, _, body = channel.basic_get(topology.EVENTS_QUEUE, auto_ack=True)
            if method is None:
                return out
            out.append(ev.read(body))
    finally:
        connection.close()


def cursor_row(database_url: str) -> tuple[str | None, int] | None:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT after_guid, sequence FROM collector_cursors WHERE kind = 'app'")
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1])


def set_binding(amqp_url: str, bound: bool) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        action = channel.queue_bind if bound else channel.queue_unbind
        action(topology.EVENTS_QUEUE, topology.EVENTS_EXCHANGE, routing_key="app")
    finally:
        connection.close()


def test_runner_saves_cursor_after_confirmed_pages(
    parts: tuple[Runner, ScriptedSource, Publisher], database_url: str, amqp_url: str
) -> None:
    runner, source, _ = parts
    assert runner.poll_once(EventKind.APP) == TIMING.min_wait.total_seconds()
    assert cursor_row(database_url) == (source.events[9].guid, 10)
    runner.poll_once(EventKind.APP)
    runner.poll_once(EventKind.APP)
    assert cursor_row(database_url) == (source.events[24].guid, 25)
    got = queued(amqp_url)
    assert [m.guid for m in got] == [e.guid for e in source.events]
    assert [m.sequence for m in got] == list(range(1, 26))


def test_runner_does_not_save_cursor_when_confirms_fail(
    parts: tuple[Runner, ScriptedSource, Publisher], database_url: str, amqp_url: str
) -> None:
    runner, source, _ = parts
    runner.poll_once(EventKind.APP)
    set_binding(amqp_url, bound=False)
    runner.poll_once(EventKind.APP)  # returned as unroutable: not confirmed
    assert cursor_row(database_url) == (source.events[9].guid, 10)
    set_binding(amqp_url, bound=True)
    runner.poll_once(EventKind.APP)  # republished after reconnect, same numbers
    assert cursor_row(database_url) == (source.events[19].guid, 20)
    delivered = [m for m in queued(amqp_url)]
    assert [m.sequence for m in delivered] == list(range(1, 21))


def test_runner_lost_cursor_records_gap_and_keeps_sequence_increasing(
    parts: tuple[Runner, ScriptedSource, Publisher], database_url: str, amqp_url: str
) -> None:
    runner, source, _ = parts
    runner.poll_once(EventKind.APP)
    lost_guid = source.events[9].guid
    source.lost.add(lost_guid)
    source.events = [old_event() for _ in range(3)]  # purged and reseeded
    runner.poll_once(EventKind.APP)
    assert cursor_row(database_url) == (source.events[2].guid, 13)
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT lost_guid, resumed_guid, gap_to IS NOT NULL FROM collection_gaps")
        assert cursor.fetchall() == [(lost_guid, source.events[0].guid, True)]
    assert [m.sequence for m in queued(amqp_url)] == list(range(1, 14))


def reseed_event(guid: str, created: datetime) -> FetchedEvent:
    text = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    resource = {"metadata": {"guid": guid, "created_at": text}, "entity": {"app_guid": guid}}
    return FetchedEvent(guid, created, text, msgspec.Raw(orjson.dumps(resource)), True)


def test_runner_restarted_on_a_reseed_cursor_notices_a_purge_made_while_it_was_down(
    database_url: str, amqp_url: str
) -> None:
    process_guid = str(uuid.uuid4())
    first_purge = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    source = ScriptedSource([reseed_event(process_guid, first_purge)])
    runner, store, publisher = _runner(database_url, amqp_url, source)
    runner.poll_once(EventKind.APP)
    publisher.close()
    store.close()  # the producer stops; its foundation lock goes with the connection
    assert cursor_row(database_url) == (process_guid, 1)

    # While it is down, a second purge re-emits the same guid, one hour later.
    source.events = [reseed_event(process_guid, first_purge + timedelta(hours=1)), old_event()]
    restarted, store, publisher = _runner(database_url, amqp_url, source)
    try:
        restarted.poll_once(EventKind.APP)
    finally:
        publisher.close()
        store.close()
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT lost_guid FROM collection_gaps")
        assert cursor.fetchall() == [(process_guid,)]
    assert cursor_row(database_url) == (source.events[1].guid, 3)
