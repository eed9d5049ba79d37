"""The contract's four columns suffice: PostgreSQL derives every other column from raw_message,
for v2 entities and v3 resources alike (migration 0009, the one place of that mapping)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg2
import pytest

from shared import db, errors
from tests.support import cf_resources as cf

WHEN = datetime(2026, 10, 5, 10, tzinfo=UTC)
APP = (
    "api_version, state, previous_state, instance_count, previous_instance_count,"
    " memory_in_mb_per_instance, previous_memory_in_mb_per_instance, process_guid,"
    " process_type, app_name, parent_app_guid, parent_app_name, space_guid, space_name,"
    " org_guid, task_guid, task_name, buildpack_guid, buildpack_name, foundation, stored_at"
)
SERVICE = (
    "api_version, state, org_guid, space_guid, space_name, service_instance_guid,"
    " service_instance_name, service_instance_type, service_plan_guid, service_plan_name,"
    " service_guid, service_label, service_broker_guid, service_broker_name, foundation"
)


def _store(conn: db.Connection, table: str, raw: dict[str, Any], columns: str) -> dict[str, Any]:
    """INSERT only id, guid, created_at and raw_message (as an operator would); the row."""
    guid = cf.guid()
    with db.transaction(conn) as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, guid, created_at, raw_message) VALUES"
            " ((SELECT coalesce(max(id), 0) + 1 FROM " + table + "), %s, %s, %s)"
            f" RETURNING {columns}",
            (guid, WHEN, orjson.dumps(raw).decode()),
        )
        values = cursor.fetchone()
        assert values is not None
        names = [d.name for d in cursor.description or ()]
    return dict(zip(names, values, strict=True))


def test_derived_v2_app_event(conn: db.Connection) -> None:
    entity = cf.v2_app_entity(buildpack_guid="bp", buildpack_name="python_buildpack")
    row = _store(conn, "app_usage_events", entity, APP)
    assert row.pop("stored_at") is not None
    assert row == {
        "api_version": "v2",
        "state": "STARTED",
        "previous_state": "STOPPED",
        "instance_count": 2,
        "previous_instance_count": 2,
        "memory_in_mb_per_instance": 512,
        "previous_memory_in_mb_per_instance": 512,
        "process_guid": entity["app_guid"],
        "process_type": "web",
        "app_name": "my-app",
        "parent_app_guid": entity["app_guid"],
        "parent_app_name": "my-app",
        "space_guid": entity["space_guid"],
        "space_name": "dev",
        "org_guid": entity["org_guid"],
        "task_guid": None,
        "task_name": None,
        "buildpack_guid": "bp",
        "buildpack_name": "python_buildpack",
        "foundation": "default",
    }


def test_derived_v2_task_event_has_no_process_and_the_parent_app_name(
    conn: db.Connection,
) -> None:
    entity = cf.v2_app_entity(
        state="TASK_STARTED", app_guid="", app_name="", process_type=None, task_guid="t1",
        task_name="migrate", parent_app_guid="app-1", parent_app_name="shop",
    )  # fmt: skip
    row = _store(conn, "app_usage_events", entity, APP)
    assert (row["process_guid"], row["app_name"], row["task_guid"], row["task_name"]) == (
        None,
        "shop",
        "t1",
        "migrate",
    )


def test_derived_v3_app_event_has_the_v2_columns(conn: db.Connection) -> None:
    resource = cf.v3_app_resource()
    row = _store(conn, "app_usage_events", resource, APP)
    assert row["api_version"] == "v3"
    assert (row["state"], row["previous_state"]) == ("STARTED", "STOPPED")
    assert (row["instance_count"], row["previous_instance_count"]) == (10, 5)
    assert (row["memory_in_mb_per_instance"], row["previous_memory_in_mb_per_instance"]) == (
        512,
        256,
    )
    assert row["process_guid"] == resource["process"]["guid"]
    assert row["process_type"] == "web"
    assert row["parent_app_guid"] == resource["app"]["guid"]
    assert row["app_name"] == row["parent_app_name"] == "my-app"
    assert row["org_guid"] == resource["organization"]["guid"]
    assert (row["space_guid"], row["space_name"]) == (resource["space"]["guid"], "dev")
    assert row["buildpack_name"] == "ruby_buildpack"


def test_derived_v3_task_event_has_no_process(conn: db.Connection) -> None:
    resource = cf.v3_app_resource(
        process={"guid": None, "type": None}, task={"guid": "t1", "name": "migrate"}
    )
    row = _store(conn, "app_usage_events", resource, APP)
    assert (row["process_guid"], row["task_guid"], row["task_name"]) == (None, "t1", "migrate")


def test_derived_v2_and_v3_service_events_give_the_same_row(conn: db.Connection) -> None:
    entity = cf.v2_service_entity()
    v3 = cf.v3_service_resource(
        space={"guid": entity["space_guid"], "name": entity["space_name"]},
        organization={"guid": entity["org_guid"]},
        service_instance={
            "guid": entity["service_instance_guid"],
            "name": entity["service_instance_name"],
            "type": entity["service_instance_type"],
        },
        service_plan={"guid": entity["service_plan_guid"], "name": entity["service_plan_name"]},
        service_offering={"guid": entity["service_guid"], "name": entity["service_label"]},
        service_broker={
            "guid": entity["service_broker_guid"],
            "name": entity["service_broker_name"],
        },
    )
    row2 = _store(conn, "service_usage_events", entity, SERVICE)
    row3 = _store(conn, "service_usage_events", v3, SERVICE)
    assert (row2.pop("api_version"), row3.pop("api_version")) == ("v2", "v3")
    assert row2 == row3
    assert row2["service_label"] == "postgres" and row2["service_plan_name"] == "small"


def test_derived_user_provided_service_has_no_plan(conn: db.Connection) -> None:
    entity = cf.v2_service_entity(
        service_instance_type="user_provided_service_instance", service_plan_guid=None,
        service_plan_name=None, service_guid=None, service_label=None,
        service_broker_name=None, service_broker_guid=None,
    )  # fmt: skip
    row = _store(conn, "service_usage_events", entity, SERVICE)
    assert row["service_plan_guid"] is None
    assert row["service_instance_type"] == "user_provided_service_instance"


def test_derived_unknown_states_are_kept(conn: db.Connection) -> None:
    row = _store(conn, "app_usage_events", cf.v2_app_entity(state="SOMETHING_NEW"), APP)
    assert row["state"] == "SOMETHING_NEW"


@pytest.mark.parametrize(
    ("raw", "column"),
    [
        ({"instance_count": 1, "memory_in_mb_per_instance": 1}, "state"),
        ({"state": "STARTED", "memory_in_mb_per_instance": 1}, "instance_count"),
    ],
)
def test_derived_a_raw_message_without_a_required_fact_is_refused_naming_the_column(
    conn: db.Connection, raw: dict[str, Any], column: str
) -> None:
    with pytest.raises(errors.DatabaseError, match=f'null value in column "{column}"'):
        _store(conn, "app_usage_events", raw, APP)


def test_derived_columns_cannot_be_written(conn: db.Connection) -> None:
    """The derived columns always say what raw_message says: nobody can set them apart."""
    with pytest.raises(psycopg2.errors.GeneratedAlways), conn.cursor() as cursor:
        cursor.execute(
            "INSERT INTO app_usage_events (id, guid, created_at, raw_message, state)"
            " VALUES (1, %s, now(), '{}', 'STARTED')",
            (cf.guid(),),
        )
    conn.rollback()
