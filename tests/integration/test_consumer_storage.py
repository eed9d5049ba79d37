"""The consumer stores v2 and v3 app and service events once each, with the right columns."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import consumer_events as ev
from tests.support.wait import wait_until

APP_COLUMNS = (
    "id, guid, foundation, api_version, state, previous_state, instance_count, "
    "previous_instance_count, memory_in_mb_per_instance, previous_memory_in_mb_per_instance, "
    "process_guid, process_type, app_name, parent_app_guid, parent_app_name, space_guid, "
    "space_name, org_guid, task_guid, task_name, buildpack_guid, buildpack_name, raw_message"
)
SERVICE_COLUMNS = (
    "id, guid, foundation, api_version, state, org_guid, space_guid, space_name, "
    "service_instance_guid, service_instance_name, service_instance_type, service_plan_guid, "
    "service_plan_name, service_guid, service_label, service_broker_guid, "
    "service_broker_name, raw_message"
)


def _row(database_url: str, table: str, columns: str, guid: str) -> dict[str, Any]:
    names = [name.strip() for name in columns.split(",")]
    rows = ev.query(database_url, f"SELECT {columns} FROM {table} WHERE guid = %s", (guid,))
    assert len(rows) == 1, f"{guid} stored {len(rows)} times"
    return dict(zip(names, rows[0], strict=True))


@pytest.mark.parametrize(
    "hand_written", [True, False], ids=["whole_deliveries", "pika_frame_by_frame"]
)
def test_consumer_stores_v2_and_v3_events_with_normalized_columns(
    database_url: str, amqp_url: str, hand_written: bool
) -> None:
    """Whichever way deliveries are read: shared.amqp_frames on a tested pika, pika's own
    frame-by-frame reading on any other."""
    v2_app = ev.message(1, kind="app", api_version="v2")
    v2_task = ev.message(
        2,
        resource=ev.v2_app_resource(
            (guid := ev.new_guid()),
            state="TASK_STARTED",
            previous_state=None,
            task_guid="task-guid",
            task_name="migrate",
            process_type=None,
            app_guid="",
        ),
        guid=guid,
    )
    v2_staging = ev.message(
        3,
        resource=ev.v2_app_resource(
            (guid := ev.new_guid()), state="STAGING_STARTED", app_guid=None, app_name=None
        ),
        guid=guid,
    )
    v2_service = ev.message(1, kind="service", api_version="v2")
    v2_user_provided = ev.message(
        2,
        kind="service",
        resource=ev.v2_service_resource(
            (guid := ev.new_guid()),
            service_instance_type="user_provided_service_instance",
            service_plan_guid=None,
            service_plan_name=None,
            service_guid=None,
            service_label=None,
            service_broker_guid=None,
            service_broker_name=None,
        ),
        guid=guid,
    )
    v3_app = ev.message(4, kind="app", api_version="v3")
    v3_task = ev.message(
        5,
        api_version="v3",
        resource=ev.v3_app_resource(
            (guid := ev.new_guid()),
            state={"current": "TASK_STOPPED", "previous": "TASK_STARTED"},
            process={"guid": None, "type": None},
            task={"guid": "task-3", "name": "report"},
        ),
        guid=guid,
    )
    v3_service = ev.message(3, kind="service", api_version="v3")
    messages = [v2_app, v2_task, v2_staging, v2_service, v2_user_provided, v3_app, v3_task]
    messages.append(v3_service)

    consumer = ev.running_consumer(database_url, amqp_url, hand_written=hand_written)
    with ev.publisher(amqp_url) as pub, consumer:
        pub.publish_messages(messages)
        wait_until(
            lambda: (
                ev.count_rows(database_url) == 5
                and ev.count_rows(database_url, "service_usage_events") == 3
            ),
            what="8 events stored",
        )

    row = _row(database_url, "app_usage_events", APP_COLUMNS, v2_app.guid)
    entity = ev.resource_of(v2_app)["entity"]
    assert row["raw_message"] == entity
    assert row["id"] == 1
    assert (row["foundation"], row["api_version"], row["state"]) == ("default", "v2", "STARTED")
    assert (row["instance_count"], row["previous_instance_count"]) == (2, 1)
    assert (row["memory_in_mb_per_instance"], row["previous_memory_in_mb_per_instance"]) == (
        256,
        128,
    )
    assert row["process_guid"] == entity["app_guid"]
    assert (row["app_name"], row["process_type"], row["org_guid"]) == ("web", "web", "o-guid")
    assert (row["parent_app_guid"], row["buildpack_name"]) == ("p-guid", "python_buildpack")

    task = _row(database_url, "app_usage_events", APP_COLUMNS, v2_task.guid)
    assert (task["id"], task["state"], task["task_guid"], task["task_name"]) == (
        2,
        "TASK_STARTED",
        "task-guid",
        "migrate",
    )
    assert task["process_guid"] is None
    assert task["previous_state"] is None

    staging = _row(database_url, "app_usage_events", APP_COLUMNS, v2_staging.guid)
    assert (staging["state"], staging["parent_app_guid"]) == ("STAGING_STARTED", "p-guid")
    assert staging["app_name"] == "web"  # falls back to the parent app's name

    service = _row(database_url, "service_usage_events", SERVICE_COLUMNS, v2_service.guid)
    assert service["raw_message"] == ev.resource_of(v2_service)["entity"]
    assert (service["service_instance_guid"], service["service_plan_name"]) == ("si-guid", "small")
    assert (service["service_label"], service["service_broker_guid"]) == ("postgres", "broker-guid")

    ups = _row(database_url, "service_usage_events", SERVICE_COLUMNS, v2_user_provided.guid)
    assert ups["service_instance_type"] == "user_provided_service_instance"
    assert ups["service_plan_guid"] is None

    app3 = _row(database_url, "app_usage_events", APP_COLUMNS, v3_app.guid)
    assert app3["raw_message"] == ev.resource_of(v3_app)
    assert (app3["id"], app3["api_version"], app3["state"], app3["previous_state"]) == (
        4,
        "v3",
        "STARTED",
        "STOPPED",
    )
    assert (app3["instance_count"], app3["memory_in_mb_per_instance"]) == (3, 512)
    assert (app3["process_guid"], app3["parent_app_guid"], app3["app_name"]) == (
        "proc-guid",
        "app-guid",
        "web",
    )

    task3 = _row(database_url, "app_usage_events", APP_COLUMNS, v3_task.guid)
    assert (task3["state"], task3["task_guid"], task3["process_guid"]) == (
        "TASK_STOPPED",
        "task-3",
        None,
    )

    service3 = _row(database_url, "service_usage_events", SERVICE_COLUMNS, v3_service.guid)
    assert (service3["id"], service3["service_label"], service3["service_plan_guid"]) == (
        3,
        "postgres",
        "plan-guid",
    )
    assert service3["service_instance_type"] == "managed_service_instance"


def test_consumer_stores_a_message_published_twice_once(database_url: str, amqp_url: str) -> None:
    first = ev.message(1)
    second = ev.message(2)
    with ev.publisher(amqp_url) as pub, ev.running_consumer(database_url, amqp_url) as (_, reg):
        pub.publish_messages([first, first, second])
        wait_until(lambda: ev.count_rows(database_url) == 2, what="2 events stored")
        wait_until(lambda: pub.queue_depth("usage_events") == 0, what="queue drained")
        # and again later, after the first copy was committed
        pub.publish_messages([first])
        wait_until(
            lambda: (
                (
                    reg.get_sample_value(
                        "paas_billing_consumer_duplicates_skipped_total", {"kind": "app"}
                    )
                    or 0
                )
                >= 2
            ),
            what="duplicates counted",
        )
    rows = ev.query(database_url, "SELECT guid, id FROM app_usage_events ORDER BY id")
    assert rows == [(first.guid, 1), (second.guid, 2)]


def test_consumer_stores_text_beyond_ascii_as_sent(database_url: str, amqp_url: str) -> None:
    """Names in any script, and a tab and a backslash, reach the columns and raw_message."""
    name = "café 日本 😀 tab\there back\\slash"
    v2 = ev.message(
        1, resource=ev.v2_app_resource((guid := ev.new_guid()), app_name=name), guid=guid
    )
    v3 = ev.message(
        2,
        api_version="v3",
        resource=ev.v3_app_resource((guid3 := ev.new_guid()), app={"guid": "a", "name": name}),
        guid=guid3,
    )
    with ev.publisher(amqp_url) as pub, ev.running_consumer(database_url, amqp_url):
        pub.publish_messages([v2, v3])
        wait_until(lambda: ev.count_rows(database_url) == 2, what="2 events stored")
    stored_v2 = _row(database_url, "app_usage_events", APP_COLUMNS, v2.guid)
    stored_v3 = _row(database_url, "app_usage_events", APP_COLUMNS, v3.guid)
    assert (stored_v2["app_name"], stored_v3["app_name"]) == (name, name)
    assert stored_v2["raw_message"] == ev.resource_of(v2)["entity"]
    assert stored_v3["raw_message"] == ev.resource_of(v3)
