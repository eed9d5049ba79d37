"""Repeated purge-and-reseed rows: the first keeps the API's guid, a later one a derived guid."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest

from consumer import delivery
from consumer.writer import Writer
from shared import events
from shared.states import EventKind
from tests.support import consumer_events as ev

PROCESS = "0c8e3b9a-1111-4a5e-9d3c-6b1f0e2a7c41"
INSTANCE = "5d2f7a1c-2222-4b6e-8c4d-7a2e1f3b8d52"
FIRST_PURGE = datetime(2026, 10, 1, 12, 0, 0, tzinfo=UTC)
SECOND_PURGE = FIRST_PURGE + timedelta(days=3, microseconds=250_000)
NOW = FIRST_PURGE + timedelta(days=10)


def derived(guid: str, created_at: datetime) -> str:
    """The documented derived guid: md5 of `<guid>@<created_at UTC, microseconds>`."""
    text = f"{guid}@{created_at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}"
    return str(uuid.UUID(hashlib.md5(text.encode()).hexdigest()))  # noqa: S324 - an id


def reseed(sequence: int, kind: str, version: str, when: datetime) -> delivery.Accepted:
    if kind == "app" and version == "v2":
        resource = ev.v2_app_resource(
            PROCESS, when=when, app_guid=PROCESS, state="STARTED", previous_state="STARTED"
        )
    elif kind == "app":
        resource = ev.v3_app_resource(
            PROCESS, when=when, process={"guid": PROCESS, "type": None},
            state={"current": "STARTED", "previous": "STARTED"},
        )  # fmt: skip
    elif version == "v2":
        resource = ev.v2_service_resource(INSTANCE, when=when, service_instance_guid=INSTANCE)
    else:
        instance = {"guid": INSTANCE, "name": "db", "type": "managed_service_instance"}
        resource = ev.v3_service_resource(INSTANCE, when=when, service_instance=instance)
    guid = PROCESS if kind == "app" else INSTANCE
    message = ev.message(sequence, kind=kind, api_version=version, guid=guid, resource=resource)
    decoded = delivery.decode(delivery.Delivery(sequence, kind, None, events.encode(message)))
    assert isinstance(decoded, delivery.Accepted), decoded
    return decoded


def rows(database_url: str, kind: str) -> list[tuple[str, str | None, datetime, int]]:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute(
            f"SELECT guid, api_guid, created_at, id FROM {kind}_usage_events ORDER BY id"
        )
        found = cursor.fetchall()
    conn.close()
    return found


@pytest.mark.parametrize("version", ["v2", "v3"])
@pytest.mark.parametrize("kind", ["app", "service"])
def test_consumer_reseed_repeat_is_stored_under_a_derived_guid_once(
    writer: Writer, database_url: str, kind: str, version: str
) -> None:
    """First purge: the API's guid. Second purge: derived guid, api_guid kept. Repeats: no-ops."""
    guid = PROCESS if kind == "app" else INSTANCE
    first = reseed(1, kind, version, FIRST_PURGE)
    second = reseed(2, kind, version, SECOND_PURGE)
    result = writer.write([first])
    assert result.stored[EventKind(kind)] == 1
    result = writer.write([second])
    assert result.stored[EventKind(kind)] == 1
    for again in ([first], [second], [second, first]):
        result = writer.write(again)
        assert result.stored[EventKind(kind)] == 0
        assert result.duplicates[EventKind(kind)] == len(again)
    assert rows(database_url, kind) == [
        (guid, None, FIRST_PURGE, 1),
        (derived(guid, SECOND_PURGE), guid, SECOND_PURGE, 2),
    ]


def test_consumer_reseed_both_purges_in_one_batch_are_both_stored(
    writer: Writer, database_url: str
) -> None:
    """Two snapshots' rows of one process in one batch: one keeps the guid, one is derived."""
    result = writer.write(
        [reseed(1, "app", "v2", FIRST_PURGE), reseed(2, "app", "v3", SECOND_PURGE)]
    )
    assert result.stored[EventKind.APP] == 2
    stored = rows(database_url, "app")
    assert {(g, a) for g, a, _, _ in stored} == {
        (PROCESS, None),
        (derived(PROCESS, SECOND_PURGE), PROCESS),
    }


def test_consumer_reseed_ordinary_repeat_is_still_dropped(
    writer: Writer, database_url: str
) -> None:
    """An ordinary event's guid repeated with another time is a repeat, not a reseed: dropped."""
    guid = ev.new_guid()
    for sequence, when in ((1, FIRST_PURGE), (2, SECOND_PURGE)):
        message = ev.message(sequence, guid=guid, when=when)
        decoded = delivery.decode(delivery.Delivery(sequence, "app", None, events.encode(message)))
        assert isinstance(decoded, delivery.Accepted)
        writer.write([decoded])
    assert rows(database_url, "app") == [(guid, None, FIRST_PURGE, 1)]
