"""What the writer does with events that contradict what is stored, or that PostgreSQL cannot
index: the first stays, the other is refused naming both events (and dead-lettered by the
consumer), and every other event of the batch is stored."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import structlog

from consumer import delivery
from consumer.writer import Writer
from shared import events
from shared.states import EventKind
from tests.support import consumer_events as ev


def accepted(message: Any) -> delivery.Accepted:
    result = delivery.decode(
        delivery.Delivery(message.sequence, "app", None, events.encode(message))
    )
    assert isinstance(result, delivery.Accepted), result
    return result


def stored(database_url: str) -> list[tuple[int, str]]:
    return [
        (int(row[0]), str(row[1]))
        for row in ev.query(database_url, "SELECT id, guid FROM app_usage_events ORDER BY id")
    ]


def test_integrity_same_guid_with_other_facts_keeps_the_first_and_says_so(
    database_url: str, writer: Writer
) -> None:
    guid = ev.new_guid()
    first = ev.message(1, guid=guid)
    forged = ev.message(
        2, guid=guid, resource=ev.v2_app_resource(guid, instance_count=40, org_guid="other")
    )
    third = ev.message(3)
    writer.write([accepted(first)])
    with structlog.testing.capture_logs() as logs:
        result = writer.write([accepted(forged), accepted(third)])
    [(index, reason)] = result.refused
    assert index == 0
    assert f"guid {guid} is stored already (sequence 1) with other facts" in reason
    assert "(sequence 2) is set aside" in reason
    assert result.conflicts[EventKind.APP] == 1 and result.stored[EventKind.APP] == 1
    [line] = [entry for entry in logs if entry["event"] == "event_conflict"]
    assert line["log_level"] == "error"
    assert (line["guid"], line["sequence"], line["held_sequence"]) == (guid, 2, 1)
    assert stored(database_url) == [(1, guid), (3, third.guid)]
    facts = ev.query(
        database_url,
        "SELECT instance_count, org_guid FROM app_usage_events WHERE guid = %s",
        (guid,),
    )
    assert facts == [(2, "o-guid")]


def test_integrity_a_redelivery_is_a_duplicate_not_a_conflict(
    database_url: str, writer: Writer
) -> None:
    message = ev.message(1)
    writer.write([accepted(message)])
    result = writer.write([accepted(message)])
    assert result.refused == [] and result.conflicts[EventKind.APP] == 0
    assert result.duplicates[EventKind.APP] == 1


def test_integrity_the_same_event_read_through_v2_and_v3_is_a_duplicate(
    database_url: str, writer: Writer
) -> None:
    """An operator moving a foundation from v2 to v3 re-reads events it holds: the names
    differ between the APIs (v2's app_name is the process's), the facts do not."""
    guid = ev.new_guid()
    v2 = ev.message(1, guid=guid)
    entity = ev.resource_of(v2)["entity"]
    v3 = ev.message(
        9,
        guid=guid,
        api_version="v3",
        resource=ev.v3_app_resource(
            guid,
            app={"guid": entity["parent_app_guid"], "name": "another name"},
            process={"guid": entity["app_guid"], "type": "web"},
            space={"guid": entity["space_guid"], "name": "dev"},
            organization={"guid": entity["org_guid"]},
            memory_in_mb_per_instance={"current": 256, "previous": 128},
            instance_count={"current": 2, "previous": 1},
        ),
    )
    writer.write([accepted(v2)])
    result = writer.write([accepted(v3)])
    assert result.refused == [] and result.duplicates[EventKind.APP] == 1


def test_integrity_a_sequence_held_by_another_guid_keeps_the_first(
    database_url: str, writer: Writer
) -> None:
    first, second, later = ev.message(5), ev.message(5), ev.message(6)
    writer.write([accepted(first)])
    with structlog.testing.capture_logs() as logs:
        result = writer.write([accepted(second), accepted(later)])
    [(index, reason)] = result.refused
    assert index == 0
    assert reason == (
        f"sequence 5 of foundation default is held by event {first.guid};"
        f" event {second.guid} is set aside"
    )
    assert stored(database_url) == [(5, first.guid), (6, later.guid)]
    [line] = [entry for entry in logs if entry["event"] == "event_conflict"]
    assert (line["what"], line["guid"], line["held_guid"]) == ("sequence", second.guid, first.guid)


def test_integrity_two_guids_under_one_sequence_in_one_batch_store_one(
    database_url: str, writer: Writer
) -> None:
    a, b = ev.message(7), ev.message(7)
    result = writer.write([accepted(a), accepted(b)])
    assert len(result.refused) == 1 and result.stored[EventKind.APP] == 1
    [(kept_id, kept)] = stored(database_url)
    refused = b.guid if kept == a.guid else a.guid
    assert kept_id == 7 and refused in result.refused[0][1] and kept in result.refused[0][1]


def test_integrity_an_unusual_time_is_stored_and_logged(database_url: str, writer: Writer) -> None:
    old = ev.message(1, when=datetime(2001, 5, 1, tzinfo=UTC))
    with structlog.testing.capture_logs() as logs:
        result = writer.write([accepted(old)])
    assert result.stored[EventKind.APP] == 1 and result.unusual_times[EventKind.APP] == 1
    [line] = [entry for entry in logs if entry["event"] == "event_time_unusual"]
    assert line["guid"] == old.guid and line["created_at"].startswith("2001-05-01")


def _unindexable(n: int) -> str:
    """255 random CJK characters (765 bytes, incompressible): four of them in one index row
    are more than the 2,704 bytes a B-tree entry may have."""
    rng = random.Random(n)
    return "".join(chr(0x4E00 + rng.randrange(20_000)) for _ in range(255))


def test_integrity_an_event_postgresql_cannot_index_is_refused_alone(
    database_url: str, writer: Writer
) -> None:
    """Within every length limit, yet its index row is too large (SQLSTATE 54000): split out
    and refused with the SQLSTATE, the rest of the batch stored."""
    guid = ev.new_guid()
    task = ev.message(
        2,
        guid=guid,
        resource=ev.v2_app_resource(
            guid, state="TASK_STARTED", app_guid="", org_guid=_unindexable(1),
            task_guid=_unindexable(2), space_guid=_unindexable(3), task_name=_unindexable(4),
        ),
    )  # fmt: skip
    good = [ev.message(n) for n in (1, 3, 4)]
    result = writer.write([accepted(good[0]), accepted(task), *map(accepted, good[1:])])
    [(index, reason)] = result.refused
    assert index == 1 and "(SQLSTATE 54000)" in reason and "index row" in reason
    assert [g for _, g in stored(database_url)] == [m.guid for m in good]
