"""The writer copies new batches straight into the event tables, and batches holding stored
guids through staging: each guid is stored once either way, whoever writes at the same time."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

import psycopg2
from structlog.testing import capture_logs

from consumer import delivery
from consumer.writer import Writer
from shared.states import EventKind
from tests.support import consumer_events as ev

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def accepted(sequence: int, kind: str = "app", version: str = "v3") -> delivery.Accepted:
    message = ev.message(sequence, kind=kind, api_version=version)
    result = delivery.decode(delivery.Delivery(sequence, kind, None, message.to_body()), NOW)
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
    expected = [(item.event.row.guid, item.event.sequence) for item in first + later]
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
    assert stored(database_url) == sorted((e.event.row.guid, e.event.sequence) for e in events)
