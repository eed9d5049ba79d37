"""The process spans the database maintains with the events (migration 0006) always equal
the spans recomputed from scratch, however the events arrive: in batches out of API order,
from concurrent writers, deleted or updated."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import psycopg2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared import states
from tests.support import event_rows
from tests.support.wait import wait_until

T0 = datetime(2026, 10, 1, tzinfo=UTC)
PROCESSES = [f"proc-{n:04d}".ljust(36, "0") for n in range(4)]
SPANS = """
    SELECT org_key, process_guid, foundation, event_id, carried, space_guid, start_at, end_at,
           instances, memory_in_mb
    FROM process_spans
"""


def maintained_and_recomputed(
    conn: Any,
) -> tuple[Counter[tuple[Any, ...]], Counter[tuple[Any, ...]]]:
    """The spans as maintained, and as a full rebuild gives them (rolled back), each span
    counted so that a duplicate shows."""
    with conn.cursor() as cursor:
        cursor.execute(SPANS)
        maintained = Counter(cursor.fetchall())
        cursor.execute("SELECT process_spans_rebuild()")
        (rebuilt,) = cursor.fetchone()
        cursor.execute(SPANS)
        recomputed = Counter(cursor.fetchall())
    conn.rollback()
    assert rebuilt == sum(recomputed.values())
    return maintained, recomputed


def test_process_state_running_is_shared_states_mapping(conn: Any) -> None:
    """The database's mapping names the same states with the same effect, and no other."""
    others = [s.value for s in states.AppState if s.value not in states.PROCESS_STATE_EFFECTS]
    asked = [*states.PROCESS_STATE_EFFECTS, *others, "", "started"]
    with conn.cursor() as cursor:
        cursor.execute("SELECT s, process_state_running(s) FROM unnest(%s::text[]) AS s", (asked,))
        mapped = {state: running for state, running in cursor.fetchall() if running is not None}
        cursor.execute("SELECT process_state_running(NULL)")
        assert cursor.fetchone() == (None,)
    assert others, "AppState names no state outside the mapping"
    assert mapped == {
        state: effect is states.ProcessEffect.RUNNING
        for state, effect in states.PROCESS_STATE_EFFECTS.items()
    }


event_specs = st.lists(
    st.tuples(
        st.sampled_from(PROCESSES[:3]),
        st.sampled_from(("STARTED", "STOPPED", "WAS_RUNNING", "BUILDPACK_SET")),
        st.sampled_from((None, "STARTED", "STOPPED")),
        st.integers(0, 4),
        st.none() | st.integers(0, 4),
        st.integers(0, 90),  # minutes from T0; ids need not follow created_at
    ),
    min_size=1,
    max_size=30,
)


@settings(
    deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(specs=event_specs, seed=st.integers(0, 2**32 - 1), delete=st.booleans())
def test_spans_equal_recompute_whatever_the_arrival_order(
    conn: Any, specs: list[tuple[Any, ...]], seed: int, delete: bool
) -> None:
    """Batches in random order (later ids first, one event per batch or many), then maybe a
    delete and an update: the maintained spans are the recomputed spans."""
    with conn, conn.cursor() as cursor:
        cursor.execute("TRUNCATE app_usage_events")
    history = event_rows.History()
    for process, state, previous, count, previous_count, minutes in specs:
        history.app(
            T0 + timedelta(minutes=minutes), state, previous_state=previous,
            instance_count=count, previous_instance_count=previous_count,
            process_guid=process, org_guid="org-a", space_guid="space-a",
        )  # fmt: skip
    rng = random.Random(seed)
    events = list(history.apps)
    batches: list[list[event_rows.AppEvent]] = []
    while events:
        size = rng.randint(1, len(events))
        batches.append(events[:size])
        events = events[size:]
    rng.shuffle(batches)
    for batch in batches:
        with conn, conn.cursor() as cursor:
            event_rows.insert_apps(cursor, batch)
    if delete:
        victim = rng.choice(history.apps)
        with conn, conn.cursor() as cursor:
            cursor.execute("DELETE FROM app_usage_events WHERE id = %s", (victim.id,))
            cursor.execute(
                "UPDATE app_usage_events SET raw_message = jsonb_set(raw_message,"
                " '{instance_count}', to_jsonb(instance_count + 1)) WHERE id = %s",
                (rng.choice(history.apps).id,),
            )
    maintained, recomputed = maintained_and_recomputed(conn)
    assert maintained == recomputed
    assert recomputed or not any(s[1] in ("STARTED", "WAS_RUNNING") for s in specs) or delete


def test_spans_of_concurrent_writers_equal_recompute(database_url: str, conn: Any) -> None:
    """Writer A has written interleaved events of the same processes but not committed when
    writer B writes its own: B waits for A, then accounts for both, round after round."""
    history = event_rows.History()
    for n in range(200):
        history.app(
            T0 + timedelta(minutes=n), ("STARTED", "STOPPED", "STARTED")[n % 3],
            instance_count=1 + n % 5, process_guid=PROCESSES[n // 2 % 4], org_guid="org-a",
        )  # fmt: skip
    first, second = psycopg2.connect(database_url), psycopg2.connect(database_url)
    try:
        second_pid = second.get_backend_pid()
        for start in range(0, 200, 20):
            evens = history.apps[start : start + 20 : 2]
            odds = history.apps[start + 1 : start + 20 : 2]
            a_rows, b_rows = (evens, odds) if start % 40 else (odds, evens)
            with first.cursor() as cursor:
                event_rows.insert_apps(cursor, a_rows)
            writer = WriterThread(second, b_rows)
            writer.start()
            wait_until(partial(finished_or_waiting, writer, conn, second_pid), timeout=10,
                       what="the second writer to finish or wait")  # fmt: skip
            first.commit()
            writer.join(timeout=30)
            assert writer.done.is_set() and not writer.failures, writer.failures
    finally:
        first.close()
        second.close()
    maintained, recomputed = maintained_and_recomputed(conn)
    assert len(recomputed) > 100
    assert maintained == recomputed


class WriterThread(threading.Thread):
    """Writes rows on its own connection and commits; `done` once it has finished."""

    def __init__(self, connection: Any, rows: list[event_rows.AppEvent]) -> None:
        super().__init__(daemon=True)
        self.connection, self.rows = connection, rows
        self.done = threading.Event()
        self.failures: list[BaseException] = []

    def run(self) -> None:
        try:
            with self.connection, self.connection.cursor() as cursor:
                event_rows.insert_apps(cursor, self.rows)
        except BaseException as exc:
            self.failures.append(exc)
        finally:
            self.done.set()


def finished_or_waiting(writer: WriterThread, conn: Any, pid: int) -> bool:
    """Whether the writer has finished, or its connection waits on a lock."""
    if writer.done.is_set():
        return True
    with conn.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,))
        row = cursor.fetchone()
    conn.rollback()
    return row is not None and row[0] == "Lock"


def test_spans_refuse_writers_outside_read_committed(conn: Any) -> None:
    """A writer under REPEATABLE READ would recompute from a stale snapshot: refused, loudly."""
    history = event_rows.History()
    history.app(T0, "STARTED", process_guid=PROCESSES[0], org_guid="org-a")
    conn.set_session(isolation_level="REPEATABLE READ")
    with (
        pytest.raises(psycopg2.errors.RaiseException, match="READ COMMITTED"),
        conn,
        conn.cursor() as cursor,
    ):
        event_rows.insert_apps(cursor, history.apps)


def test_spans_follow_a_truncate(conn: Any) -> None:
    history = event_rows.History()
    history.app(T0, "STARTED", process_guid=PROCESSES[0], org_guid="org-a")
    with conn, conn.cursor() as cursor:
        event_rows.insert_apps(cursor, history.apps)
        cursor.execute("SELECT count(*) FROM process_spans")
        assert cursor.fetchone() == (1,)
        cursor.execute("TRUNCATE app_usage_events")
        cursor.execute("SELECT count(*) FROM process_spans")
        assert cursor.fetchone() == (0,)


def test_one_statement_may_touch_more_processes_than_the_lock_table_holds(conn: Any) -> None:
    """A COPY or a backfill touches every process at once (the ingest baseline once failed
    with 'out of shared memory' when each process took its own lock)."""
    with conn.cursor() as cursor:
        cursor.execute("SHOW max_locks_per_transaction")
        per_transaction = int(cursor.fetchone()[0])
        cursor.execute("SHOW max_connections")
        lock_slots = per_transaction * int(cursor.fetchone()[0])
    conn.rollback()
    history = event_rows.History()
    for n in range(lock_slots * 3):
        history.app(T0, "STARTED", process_guid=f"many-{n:08d}".ljust(36, "0"), org_guid="org-a")
    with conn, conn.cursor() as cursor:
        event_rows.insert_apps(cursor, history.apps)
        cursor.execute("SELECT count(*) FROM process_spans")
        assert cursor.fetchone() == (len(history.apps),)
