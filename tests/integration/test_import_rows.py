"""What `paas-billing import` does with each source row: placed in API order, found stored,
or left out with the reason, never silently dropped; and a rerun changes nothing."""

from __future__ import annotations

import base64
import dataclasses
import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg2
import pytest

from paas_billing.import_outcome import TableStatus
from shared.states import EventKind
from tests.support import collector_source, event_rows, importing
from tests.support.event_rows import History

OLD = datetime(2015, 5, 1, tzinfo=UTC)
LIVE = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
APP, SERVICE = EventKind.APP, EventKind.SERVICE


@pytest.fixture
def source_url(postgres_admin_url: str) -> Iterator[str]:
    with collector_source.collector_database(postgres_admin_url) as url:
        yield url


def _process(n: int) -> dict[str, Any]:
    guid = f"proc-{n}".ljust(36, "0")
    return {"process_guid": guid, "app_name": f"app-{n}", "org_guid": "org", "space_guid": "sp"}


def _apps(history: History, start: datetime, count: int, step: timedelta = HOUR) -> list[str]:
    """`count` STARTED events of a few processes from `start`; their guids."""
    return [
        history.app(start + i * step, "STARTED", "default", **_process(i % 3)).guid
        for i in range(count)
    ]


def _cursor(url: str, kind: EventKind, sequence: int) -> None:
    """A producer's saved cursor for the foundation."""
    importing.query(
        url,
        "INSERT INTO collector_cursors (foundation, kind, sequence) VALUES ('default', %s, %s) "
        "RETURNING 1",
        (kind.value, sequence),
    )


@pytest.mark.parametrize("producer", [False, True], ids=["no producer", "producer"])
def test_import_interleaved_source_reports_what_it_did_not_import(
    source_url: str, database_url: str, producer: bool
) -> None:
    """Older events go before the stored history, in source order; events inside it are left
    out and listed; newer ones go after it only when no producer numbers the foundation's
    events (else they are left out and listed too). Nothing is dropped without a word."""
    live = History()
    live_guids = _apps(live, LIVE, 20)
    event_rows.insert(database_url, live)
    if producer:
        _cursor(database_url, APP, 20)
    source = History()
    before = _apps(source, OLD, 30)
    inside = _apps(source, LIVE + 5 * HOUR, 4, step=timedelta(minutes=7))
    after = _apps(source, LIVE + 40 * HOUR, 5)
    collector_source.fill(source_url, source)

    outcome = importing.run_import(source_url, database_url, batch_size=8)[APP]

    importing.assert_adds_up(outcome)
    record = outcome.record
    assert record is not None
    left = importing.left_out(database_url)
    assert left["inside_history"] == inside
    stored = [guid for _, guid in importing.stored(database_url, APP)]
    if producer:
        assert left == {"inside_history": inside, "after_history": after}
        assert stored == before + live_guids
        assert record.placement.after_offset is None
    else:
        assert left == {"inside_history": inside}
        assert stored == before + live_guids + after
        # Source id + an offset that starts the block just above the highest stored id.
        assert record.placement.after_offset == 20 - 1 + 1
        assert [i for i, _ in importing.stored(database_url, APP)][-5:] == list(range(55, 60))
    # Source id + an offset that ends the block (source ids up to 39) at the lowest stored
    # id minus 1, in source order.
    ids = [i for i, _ in importing.stored(database_url, APP)]
    assert ids[:30] == [source_id - 39 for source_id in range(1, 31)]
    assert record.not_imported == len(inside) + (len(after) if producer else 0)
    groups = {group.reason.value: group for group in outcome.left_out}
    assert groups["inside_history"].first_guids == inside[:4]


def test_import_skips_stored_guids_and_a_second_run_changes_nothing(
    source_url: str, database_url: str
) -> None:
    """The old collector ran on for a while after the producer started: the events both hold
    are found stored (one with other facts is a conflict, listed), the older ones imported;
    importing again changes nothing at all."""
    source = History()
    old = _apps(source, OLD, 40)
    overlap = source.apps[-1].created_at + HOUR
    shared = _apps(source, overlap, 10)
    collector_source.fill(source_url, source)
    live = History(apps=[dataclasses.replace(e, id=e.id - 40) for e in source.apps[40:]])
    changed = live.apps[3] = dataclasses.replace(live.apps[3], instance_count=7)
    live._ids[("default", "app")] = len(live.apps)
    fresh = _apps(live, overlap + 20 * HOUR, 5)
    event_rows.insert(database_url, live)

    first = importing.run_import(source_url, database_url, batch_size=7)[APP]
    snapshot = _snapshot(database_url)
    second = importing.run_import(source_url, database_url, batch_size=7)[APP]

    importing.assert_adds_up(first)
    assert first.record is not None
    assert (first.record.imported, first.record.already_stored) == (40, 9)
    assert importing.left_out(database_url) == {"conflict": [changed.guid]}
    assert [guid for _, guid in importing.stored(database_url, APP)] == old + shared + fresh
    assert _snapshot(database_url) == snapshot
    assert second.record is not None
    # Only the time a run last read the source to its end moves.
    assert dataclasses.replace(second.record, finished_at=None) == dataclasses.replace(
        first.record, finished_at=None
    )
    assert (second.run.rows, second.run.imported) == (0, 0)
    assert second.left_out == first.left_out


def _snapshot(url: str) -> list[Any]:
    return [
        importing.query(url, "SELECT id, guid, foundation FROM app_usage_events ORDER BY id"),
        importing.query(url, "SELECT count(*) FROM process_spans"),
        importing.query(url, "SELECT * FROM event_import_left_out ORDER BY source_id"),
    ]


def _raw(**fields: Any) -> str:
    entity = {"state": "STARTED", "instance_count": 1, "memory_in_mb_per_instance": 64}
    return orjson.dumps({**entity, **_process(1), **fields}).decode()


def test_import_isolates_rows_it_cannot_store_and_imports_the_rest(
    source_url: str, database_url: str
) -> None:
    """Rows with a NULL where the old schema allowed one, and rows PostgreSQL refuses (no
    state, a count that is not a number, a short guid, a JSON string, an index row too large)
    are each left out with the reason; every other row is imported, in order."""
    at = OLD
    bad: list[collector_source.SourceRow] = [
        (2, None, at, _raw()),
        (4, str(uuid.uuid4()), None, _raw()),
        (6, str(uuid.uuid4()), at, None),
        (8, str(uuid.uuid4()), at, orjson.dumps({"instance_count": 1}).decode()),
        (10, str(uuid.uuid4()), at, _raw(instance_count="many")),
        (12, "short", at, _raw()),
        (14, str(uuid.uuid4()), at, '"STARTED"'),
        (16, str(uuid.uuid4()), at, _raw(app_guid=base64.b64encode(os.urandom(6000)).decode())),
    ]
    good = [(n, str(uuid.uuid4()), at + n * HOUR, _raw()) for n in range(1, 20, 2)]
    collector_source.write(source_url, "app_usage_events", sorted(good + bad))

    outcome = importing.run_import(source_url, database_url, batch_size=5)[APP]

    importing.assert_adds_up(outcome)
    assert importing.stored(database_url, APP) == [(n, guid) for n, guid, _, _ in good]
    left = importing.left_out(database_url)
    assert left == {
        "missing_guid": ["source id 2"],
        "missing_created_at": [bad[1][1]],
        "missing_raw_message": [bad[2][1]],
        "refused": [row[1] for row in bad[3:]],
    }
    details = importing.query(
        database_url,
        "SELECT detail FROM event_import_left_out WHERE reason = 'refused' ORDER BY source_id",
    )
    assert '"state"' in details[0][0] and "23502" in details[0][0]
    assert '"many"' in details[1][0]
    assert "guid_length" in details[2][0]
    assert "54000" in details[4][0]  # refused by the event table's index, not the staging


def test_import_reports_and_skips_a_table_the_source_lacks(
    postgres_admin_url: str, database_url: str
) -> None:
    with collector_source.collector_database(
        postgres_admin_url, tables=("app_usage_events",)
    ) as url:
        history = History()
        guids = _apps(history, OLD, 3)
        collector_source.fill(url, history)
        outcomes = importing.run_import(url, database_url)
    assert outcomes[SERVICE].status is TableStatus.MISSING
    assert outcomes[APP].status is TableStatus.FINISHED
    assert [guid for _, guid in importing.stored(database_url, APP)] == guids


def _lock(url: str, key: str) -> psycopg2.extensions.connection:
    """A session holding the advisory lock `hashtextextended(key, 0)`."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))
    return conn


def _free(url: str, key: str) -> bool:
    """True when another session can take the lock now (it is released at once)."""
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", (key,))
            row = cursor.fetchone()
        return bool(row and row[0])
    finally:
        conn.close()


def test_import_of_the_same_table_never_runs_twice_at_once(
    source_url: str, database_url: str
) -> None:
    history = History()
    _apps(history, OLD, 3)
    history.service(OLD, "CREATED", "i".ljust(36, "0"), "default")
    collector_source.fill(source_url, history)
    holder = _lock(database_url, "paas-billing-import/default/app")
    try:
        outcomes = importing.run_import(source_url, database_url, lock_wait=0.2)
    finally:
        holder.close()
    assert outcomes[APP].status is TableStatus.LOCKED
    assert importing.stored(database_url, APP) == []
    assert outcomes[SERVICE].status is TableStatus.FINISHED


def test_import_into_an_empty_table_holds_off_producers_and_stops_if_one_ran(
    source_url: str, database_url: str
) -> None:
    """Keeping the source ids (no events, no producer) puts events where a producer's first
    run would number its own: the import holds the producer's lock meanwhile. If it is
    interrupted and a producer runs before the rerun, the rest cannot be placed: listed."""
    history = History()
    guids = _apps(history, OLD, 12)
    collector_source.fill(source_url, history)
    producer_key = "paas-billing-producer/default"
    seen: list[bool] = []
    stop = threading.Event()
    progress = importing.StopAfter(stop, 1, lambda: seen.append(_free(database_url, producer_key)))

    first = importing.run_import(
        source_url, database_url, batch_size=5, stop=stop, progress=progress
    )
    assert seen == [False]
    assert first[APP].status is TableStatus.STOPPED
    assert importing.stored(database_url, APP) == [(n, g) for n, g in enumerate(guids[:5], 1)]
    _cursor(database_url, APP, 5)  # a producer ran meanwhile, numbering after id 5

    second = importing.run_import(source_url, database_url, batch_size=5)[APP]
    importing.assert_adds_up(second)
    assert importing.left_out(database_url) == {"producer_started": guids[5:]}
    assert importing.stored(database_url, APP) == [(n, g) for n, g in enumerate(guids[:5], 1)]


def test_import_before_the_stored_history_leaves_producers_free(
    source_url: str, database_url: str
) -> None:
    """Events placed below the stored ones need no lock: a producer may start meanwhile."""
    live = History()
    _apps(live, LIVE, 3)
    event_rows.insert(database_url, live)
    history = History()
    _apps(history, OLD, 12)
    collector_source.fill(source_url, history)
    seen: list[bool] = []
    stop = threading.Event()
    progress = importing.StopAfter(
        stop, 1, lambda: seen.append(_free(database_url, "paas-billing-producer/default"))
    )
    importing.run_import(source_url, database_url, batch_size=5, stop=stop, progress=progress)
    assert seen == [True]


def test_import_keeps_an_earlier_purge_snapshot_row_under_a_derived_guid(
    source_url: str, database_url: str
) -> None:
    """A purge-and-reseed row's guid is its process's; a later purge re-emits it. The live
    history holds the later one: the imported earlier one is stored as the consumer stores
    a second snapshot row (md5 of guid and time, the API's guid in api_guid)."""
    process = _process(1)
    live = History()
    later = live.app(LIVE, "STARTED", "default", previous_state="STARTED", **process)
    live.apps[0] = dataclasses.replace(later, guid=process["process_guid"])
    event_rows.insert(database_url, live)
    source = History()
    earlier = source.app(OLD, "STARTED", "default", previous_state="STARTED", **process)
    source.apps[0] = dataclasses.replace(earlier, guid=process["process_guid"])
    collector_source.fill(source_url, source)

    outcome = importing.run_import(source_url, database_url)[APP]

    importing.assert_adds_up(outcome)
    rows = importing.query(
        database_url,
        "SELECT guid, api_guid, created_at FROM app_usage_events ORDER BY id",
    )
    derived = importing.query(
        database_url,
        "SELECT md5(%s || '@2015-05-01T00:00:00.000000Z')::uuid::text",
        (process["process_guid"],),
    )[0][0]
    assert rows == [
        (derived, process["process_guid"], OLD),
        (process["process_guid"], None, LIVE),
    ]


def test_import_reports_an_id_another_event_took_between_runs(
    source_url: str, database_url: str
) -> None:
    """An event written by hand into the import's block between two runs keeps its id; the
    source event that wanted it is left out, naming the holder."""
    live = History()
    _apps(live, LIVE, 3)
    event_rows.insert(database_url, live)
    source = History()
    guids = _apps(source, OLD, 10)
    collector_source.fill(source_url, source)
    stop = threading.Event()
    importing.run_import(
        source_url, database_url, batch_size=4, stop=stop, progress=importing.StopAfter(stop, 1)
    )
    intruder = History()
    intruder.app(OLD, "STARTED", "default", **_process(9))
    event_rows.insert(
        database_url, History(apps=[dataclasses.replace(intruder.apps[0], id=-2)])
    )  # where source id 8 goes (block ends at 0: source id - 10)

    outcome = importing.run_import(source_url, database_url, batch_size=4)[APP]

    importing.assert_adds_up(outcome)
    assert importing.left_out(database_url) == {"id_taken": [guids[7]]}
    groups = outcome.left_out
    assert (
        groups[0].detail == f"id -2 of foundation default is held by event {intruder.apps[0].guid}"
    )
    stored = dict(importing.stored(database_url, APP))
    assert stored[-2] == intruder.apps[0].guid
    assert [stored[n - 10] for n in range(1, 11) if n != 8] == guids[:7] + guids[8:]
