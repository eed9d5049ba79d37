"""The cursor store against a real PostgreSQL: lock, save/load, never backwards, gaps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg2
import pytest

from producer.cursor import Cursor, CursorStore, Gap
from shared import errors
from shared.states import EventKind

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[CursorStore]:
    store = CursorStore(database_url, "default")
    assert store.try_lock()
    yield store
    store.close()


def test_cursor_store_first_run_starts_at_zero(store: CursorStore) -> None:
    assert store.load(EventKind.APP) == Cursor()


def test_cursor_store_first_run_numbers_after_the_events_the_table_holds(
    store: CursorStore, database_url: str
) -> None:
    """Events imported or written by hand before the producer's first run keep their place:
    the producer numbers what it fetches after them (per foundation and table)."""
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        for id_, foundation in ((41, "default"), (7, "default"), (900, "elsewhere")):
            cursor.execute(
                "INSERT INTO app_usage_events (id, guid, created_at, raw_message, foundation)"
                " VALUES (%s, gen_random_uuid()::text, now(), %s, %s)",
                (id_, '{"state": "STOPPED", "instance_count": 1, '
                 '"memory_in_mb_per_instance": 64}', foundation),
            )  # fmt: skip
    conn.close()
    assert store.load(EventKind.APP) == Cursor(sequence=41)
    assert store.load(EventKind.SERVICE) == Cursor(sequence=0)


def test_cursor_store_saves_and_loads_per_kind(store: CursorStore) -> None:
    saved = Cursor(after_guid="g1", last_created_at=WHEN, sequence=10)
    store.save(EventKind.APP, saved)
    assert store.load(EventKind.APP) == saved
    assert store.load(EventKind.SERVICE) == Cursor()


def test_cursor_store_refuses_to_move_sequence_backwards(store: CursorStore) -> None:
    store.save(EventKind.APP, Cursor(after_guid="g2", last_created_at=WHEN, sequence=10))
    with pytest.raises(errors.DatabaseError, match="ahead"):
        store.save(EventKind.APP, Cursor(after_guid="g1", last_created_at=WHEN, sequence=9))
    assert store.load(EventKind.APP).after_guid == "g2"


def test_cursor_store_lock_is_exclusive_per_foundation(
    store: CursorStore, database_url: str
) -> None:
    second = CursorStore(database_url, "default")
    other = CursorStore(database_url, "other-foundation")
    try:
        assert not second.try_lock()
        assert other.try_lock()
        store.close()
        assert second.try_lock()
    finally:
        second.close()
        other.close()


def test_cursor_store_records_gap_and_restarts_cursor_together(
    store: CursorStore, database_url: str
) -> None:
    store.save(EventKind.SERVICE, Cursor(after_guid="lost", last_created_at=WHEN, sequence=5))
    gap = Gap(lost_guid="lost", gap_from=WHEN, gap_to=WHEN, resumed_guid="first", reason="purged")
    store.record_gap(EventKind.SERVICE, gap, Cursor(last_created_at=WHEN, sequence=5))
    assert store.load(EventKind.SERVICE) == Cursor(last_created_at=WHEN, sequence=5)
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT foundation, kind, lost_guid, resumed_guid, reason FROM collection_gaps"
        )
        assert cursor.fetchall() == [("default", "service", "lost", "first", "purged")]


def test_cursor_store_healthy_follows_its_connection(store: CursorStore) -> None:
    assert store.healthy()
    store.close()
    assert not store.healthy()
    with pytest.raises(errors.DatabaseUnavailable):
        store.load(EventKind.APP)
