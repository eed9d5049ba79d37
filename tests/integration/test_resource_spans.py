"""The task, staging and service spans the database maintains with the events (migration
0014) always equal the spans recomputed from scratch, however the events arrive: in batches
out of API order, deleted, updated, truncated."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import event_rows

T0 = datetime(2026, 10, 1, tzinfo=UTC)
TABLES = ("task_spans", "staging_spans", "service_spans")
APPS = [f"app-{n:04d}".ljust(36, "0") for n in range(3)]
INSTANCES = [f"inst-{n:04d}".ljust(36, "0") for n in range(3)]


def spans(conn: Any) -> Counter[tuple[Any, ...]]:
    found: Counter[tuple[Any, ...]] = Counter()
    with conn.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT '{table}', * FROM {table}")
            found.update(cursor.fetchall())
    return found


def maintained_and_recomputed(
    conn: Any,
) -> tuple[Counter[tuple[Any, ...]], Counter[tuple[Any, ...]]]:
    """The spans as maintained, and as a full rebuild gives them (rolled back)."""
    maintained = spans(conn)
    with conn.cursor() as cursor:
        cursor.execute("SELECT resource_spans_rebuild()")
        (rebuilt,) = cursor.fetchone()
    recomputed = spans(conn)
    conn.rollback()
    assert rebuilt == sum(recomputed.values())
    return maintained, recomputed


app_specs = st.tuples(
    st.sampled_from(("TASK_STARTED", "TASK_STOPPED", "STAGING_STARTED", "STAGING_STOPPED", "X")),
    st.integers(0, 2),  # which task or app
    st.sampled_from(("org-a", "org-b")),
    st.integers(0, 4),
    st.sampled_from((256, 1024)),
    st.integers(0, 90),  # minutes from T0; ids need not follow created_at
)
service_specs = st.tuples(
    st.sampled_from(("CREATED", "UPDATED", "DELETED", "ODD")),
    st.integers(0, 2),
    st.sampled_from(("org-a", "org-b")),
    st.sampled_from(("plan-1", "plan-2", None)),
    st.booleans(),  # user-provided
    st.integers(0, 90),
)


def _history(apps: list[tuple[Any, ...]], services: list[tuple[Any, ...]]) -> event_rows.History:
    history = event_rows.History()
    for state, n, org, count, memory, minutes in apps:
        guid = {"task_guid": f"task-{n}".ljust(36, "0")} if state.startswith("TASK") else {}
        history.app(
            T0 + timedelta(minutes=minutes), state, instance_count=count,
            memory_in_mb_per_instance=memory, parent_app_guid=APPS[n], org_guid=org,
            space_guid=f"{org}-space", **guid,
        )  # fmt: skip
    for state, n, org, plan, provided, minutes in services:
        history.service(
            T0 + timedelta(minutes=minutes), state, INSTANCES[n], org_guid=org,
            service_plan_guid=plan, space_guid=f"{org}-space",
            service_instance_type=event_rows.USER_PROVIDED if provided else event_rows.MANAGED,
        )  # fmt: skip
    return history


def _batches(rng: random.Random, rows: list[Any]) -> list[list[Any]]:
    batches: list[list[Any]] = []
    while rows:
        size = rng.randint(1, len(rows))
        batches.append(rows[:size])
        rows = rows[size:]
    rng.shuffle(batches)
    return batches


@settings(
    deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    apps=st.lists(app_specs, max_size=25),
    services=st.lists(service_specs, max_size=15),
    seed=st.integers(0, 2**32 - 1),
    change=st.sampled_from(("none", "delete", "update")),
)
def test_resource_spans_equal_recompute_whatever_the_arrival_order(
    conn: Any,
    apps: list[tuple[Any, ...]],
    services: list[tuple[Any, ...]],
    seed: int,
    change: str,
) -> None:
    with conn, conn.cursor() as cursor:
        cursor.execute("TRUNCATE app_usage_events, service_usage_events")
    history = _history(apps, services)
    rng = random.Random(seed)
    for batch in _batches(rng, list(history.apps)):
        with conn, conn.cursor() as cursor:
            event_rows.insert_apps(cursor, batch)
    for batch in _batches(rng, list(history.services)):
        with conn, conn.cursor() as cursor:
            event_rows.insert_services(cursor, batch)
    if change != "none" and history.apps and history.services:
        app_id = rng.choice(history.apps).id
        service_id = rng.choice(history.services).id
        with conn, conn.cursor() as cursor:
            if change == "delete":
                cursor.execute("DELETE FROM app_usage_events WHERE id = %s", (app_id,))
                cursor.execute("DELETE FROM service_usage_events WHERE id = %s", (service_id,))
            else:
                cursor.execute(
                    "UPDATE app_usage_events SET raw_message = jsonb_set(raw_message,"
                    " '{state}', '\"TASK_STOPPED\"') WHERE id = %s",
                    (app_id,),
                )
                cursor.execute(
                    "UPDATE service_usage_events SET raw_message = jsonb_set(raw_message,"
                    " '{service_instance_guid}', to_jsonb(%s::text)) WHERE id = %s",
                    (INSTANCES[0], service_id),
                )
    maintained, recomputed = maintained_and_recomputed(conn)
    assert maintained == recomputed


def test_resource_spans_follow_a_truncate(conn: Any) -> None:
    history = _history(
        [("TASK_STARTED", 0, "org-a", 1, 256, 0), ("STAGING_STARTED", 0, "org-a", 1, 1024, 1),
         ("STAGING_STOPPED", 0, "org-a", 1, 1024, 2)],
        [("CREATED", 0, "org-a", "plan-1", False, 0)],
    )  # fmt: skip
    with conn, conn.cursor() as cursor:
        event_rows.insert_apps(cursor, history.apps)
        event_rows.insert_services(cursor, history.services)
        assert sum(spans(conn).values()) == 3
        cursor.execute("TRUNCATE app_usage_events, service_usage_events")
        assert sum(spans(conn).values()) == 0
