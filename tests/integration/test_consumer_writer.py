"""The writer copies new batches straight into the event tables, and batches holding stored
guids through staging: each guid is stored once either way, whoever writes at the same time."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

import orjson
import psycopg2
from structlog.testing import capture_logs

from consumer import delivery
from consumer.writer import Writer, WriteResult
from shared import events
from shared.states import EventKind
from tests.support import consumer_events as ev
from tests.support.wait import wait_until

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def accepted(sequence: int, kind: str = "app", version: str = "v3") -> delivery.Accepted:
    message = ev.message(sequence, kind=kind, api_version=version)
    result = delivery.decode(delivery.Delivery(sequence, kind, None, events.encode(message)))
    assert isinstance(result, delivery.Accepted), result
    return result


def stored(database_url: str) -> list[tuple[str, int]]:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT guid, id FROM app_usage_events UNION ALL"
            " SELECT guid, id FROM service_usage_events ORDER BY 1"
        )
        found = cursor.fetchall()
    conn.close()
    return found


def staged(logs: list[dict[str, object]]) -> list[object]:
    return [entry["kind"] for entry in logs if entry["event"] == "batch_through_staging"]


def test_writer_copies_a_new_batch_straight_and_a_repeat_through_staging(
    writer: Writer, database_url: str
) -> None:
    first = [accepted(n) for n in range(1, 6)] + [accepted(n, "service", "v2") for n in (1, 2)]
    later = [accepted(n) for n in range(6, 9)]
    with capture_logs() as logs:
        result = writer.write(first)
    assert (result.stored, staged(logs)) == ({EventKind.APP: 5, EventKind.SERVICE: 2}, [])
    with capture_logs() as logs:
        result = writer.write([*later, first[1], first[5]])
    assert staged(logs) == ["app", "service"]
    assert result.stored == {EventKind.APP: 3, EventKind.SERVICE: 0}
    assert result.duplicates == {EventKind.APP: 1, EventKind.SERVICE: 1}
    expected = [(item.event.guid, item.event.sequence) for item in first + later]
    assert stored(database_url) == sorted(expected)


def test_writers_at_once_with_overlapping_batches_store_each_guid_once(
    database_url: str,
) -> None:
    """Two writers store the same events in different orders at the same time: where one
    holds a guid the other copies, the other waits, is refused (or is the victim of a
    deadlock) and goes through staging."""
    events = [accepted(n) for n in range(1, 121)]
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def write(seed: int) -> None:
        w = Writer(database_url)
        try:
            order = events[:]
            random.Random(seed).shuffle(order)
            start.wait(timeout=30)
            for at in range(0, len(order), 40):
                w.write(order[at : at + 40])
        except BaseException as exc:  # reported by the test below
            failures.append(exc)
        finally:
            w.close()

    threads = [threading.Thread(target=write, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert stored(database_url) == sorted((e.event.guid, e.event.sequence) for e in events)


STORED, FIRST, SECOND = (f"{c * 8}-0000-4000-8000-000000000000" for c in "0ab")
# The same event as `service(sequence, guid)` makes, written by another transaction.
INSERT_SERVICE = (
    "INSERT INTO service_usage_events (id, guid, created_at, raw_message) VALUES (%s, %s, %s, %s)"
)


def same_service(sequence: int, guid: str) -> tuple[object, ...]:
    entity = orjson.dumps(ev.v2_service_resource(guid)["entity"]).decode()
    return (sequence, guid, ev.BASE_TIME, entity)


def service(sequence: int, guid: str) -> delivery.Accepted:
    resource = ev.v2_service_resource(guid)
    message = ev.message(sequence, kind="service", guid=guid, resource=resource)
    result = delivery.decode(delivery.Delivery(sequence, "service", None, events.encode(message)))
    assert isinstance(result, delivery.Accepted), result
    return result


def waiting_for_a_lock(database_url: str) -> bool:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = 'paas-billing-consumer' AND wait_event_type = 'Lock'"
        )
        (waiting,) = cursor.fetchone()
    conn.close()
    return bool(waiting)


def test_writer_runs_a_batch_again_that_postgresql_gave_up_in_a_deadlock(
    writer: Writer, database_url: str
) -> None:
    """A batch holding a stored guid goes through staging, in guid order. Another transaction
    holds the batch's second guid and then asks for its first: PostgreSQL gives up the
    writer's transaction (it waited first; the other one checks late). The writer runs the
    batch again, skipping what the other one stored, and nothing is lost or doubled."""
    writer.write([service(1, STORED)])
    other = psycopg2.connect(database_url)
    outcome: list[object] = []

    def write() -> None:
        try:
            outcome.append(
                writer.write([service(1, STORED), service(2, FIRST), service(3, SECOND)])
            )
        except BaseException as exc:  # the assertion below reports it
            outcome.append(exc)

    try:
        with other.cursor() as cursor:
            cursor.execute("SET deadlock_timeout = '60s'")
            cursor.execute(INSERT_SERVICE, same_service(90, SECOND))
            writing = threading.Thread(target=write)
            writing.start()
            wait_until(lambda: waiting_for_a_lock(database_url), what="the writer to wait")
            cursor.execute(
                INSERT_SERVICE, same_service(91, FIRST)
            )  # returns once the writer gave way
        other.commit()
        writing.join(timeout=60)
    finally:
        other.close()
    [result] = outcome
    assert isinstance(result, WriteResult), result
    assert (result.stored[EventKind.SERVICE], result.duplicates[EventKind.SERVICE]) == (0, 3)
    assert stored(database_url) == [(STORED, 1), (FIRST, 91), (SECOND, 90)]
