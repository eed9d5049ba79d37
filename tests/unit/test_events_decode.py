"""Decoding v2 and v3 resources into the normalized columns: same rows whichever API fed them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from shared import errors, events
from shared.events import AppRow, ServiceRow
from shared.messages import UsageEventMessage
from tests.support import cf_resources as cf

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _message(kind: str, version: str, resource: dict[str, Any]) -> UsageEventMessage:
    event_guid = resource["metadata"]["guid"] if version == "v2" else resource["guid"]
    return UsageEventMessage(
        foundation="default",
        kind=kind,
        api_version=version,
        sequence=7,
        guid=event_guid,
        resource=resource,
    )


def test_events_decode_v2_app_keeps_entity_as_raw_message() -> None:
    entity = cf.v2_app_entity()
    stored = events.decode(_message("app", "v2", cf.v2_resource(entity)), NOW)
    assert orjson.loads(stored.raw_json) == entity
    assert isinstance(stored.row, AppRow)
    assert stored.row.process_guid == entity["app_guid"]
    assert stored.row.instance_count == 2
    assert stored.sequence == 7


def test_events_decode_v2_task_event_has_no_process() -> None:
    entity = cf.v2_app_entity(
        state="TASK_STARTED",
        app_guid="",
        app_name="",
        process_type=None,
        task_guid=cf.guid(),
        task_name="migrate",
    )
    stored = events.decode(_message("app", "v2", cf.v2_resource(entity)), NOW)
    assert isinstance(stored.row, AppRow)
    assert stored.row.process_guid is None
    assert stored.row.app_name == "my-app"
    assert stored.row.task_name == "migrate"


def test_events_decode_v3_app_matches_v2_columns() -> None:
    resource = cf.v3_app_resource()
    stored = events.decode(_message("app", "v3", resource), NOW)
    row = stored.row
    assert isinstance(row, AppRow)
    assert orjson.loads(stored.raw_json) == resource
    assert row.process_guid == resource["process"]["guid"]
    assert row.parent_app_guid == resource["app"]["guid"]
    assert row.org_guid == resource["organization"]["guid"]
    assert (row.instance_count, row.previous_instance_count) == (10, 5)
    assert (row.memory_in_mb_per_instance, row.previous_memory_in_mb_per_instance) == (512, 256)


def test_events_decode_v2_and_v3_service_give_the_same_row() -> None:
    entity = cf.v2_service_entity()
    v2 = cf.v2_resource(entity, kind="service")
    v3 = cf.v3_service_resource(
        guid=v2["metadata"]["guid"],
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
    row2 = events.decode(_message("service", "v2", v2), NOW).row
    row3 = events.decode(_message("service", "v3", v3), NOW).row
    assert isinstance(row2, ServiceRow)
    assert row2 == row3


def test_events_decode_user_provided_service_has_null_plan() -> None:
    entity = cf.v2_service_entity(
        service_instance_type="user_provided_service_instance",
        service_plan_guid=None,
        service_plan_name=None,
        service_guid=None,
        service_label=None,
        service_broker_name=None,
        service_broker_guid=None,
    )
    row = events.decode(_message("service", "v2", cf.v2_resource(entity, kind="service")), NOW).row
    assert isinstance(row, ServiceRow)
    assert row.service_plan_guid is None


def test_events_decode_keeps_unknown_states() -> None:
    entity = cf.v2_app_entity(state="SOMETHING_NEW")
    assert events.decode(_message("app", "v2", cf.v2_resource(entity)), NOW).row.state == (
        "SOMETHING_NEW"
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"instance_count": "many"}, "instance_count"),
        ({"instance_count": -1}, "instance_count"),
        ({"memory_in_mb_per_instance": 10**12}, "memory_in_mb_per_instance"),
        ({"memory_in_mb_per_instance": 1.5}, "memory_in_mb_per_instance"),
        ({"state": None}, "state"),
        ({"app_name": "bad\x00name"}, "app_name"),
    ],
)
def test_events_decode_rejects_bad_values_naming_the_field(
    overrides: dict[str, Any], field: str
) -> None:
    entity = cf.v2_app_entity(**overrides)
    with pytest.raises(errors.InvalidEvent, match=field):
        events.decode(_message("app", "v2", cf.v2_resource(entity)), NOW)


@pytest.mark.parametrize(
    "created_at",
    ["9999-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "yesterday", "2026-10-05T10:00:00"],
)
def test_events_decode_rejects_implausible_times(created_at: str) -> None:
    resource = cf.v2_resource(cf.v2_app_entity(), created_at=created_at)
    with pytest.raises(errors.InvalidEvent, match="created_at"):
        events.decode(_message("app", "v2", resource), NOW)


def test_events_decode_rejects_a_guid_that_is_not_36_characters() -> None:
    resource = cf.v2_resource(cf.v2_app_entity(), event_guid="x" * 37)
    with pytest.raises(errors.InvalidEvent, match="guid"):
        events.decode(_message("app", "v2", resource), NOW)


def test_events_decode_rejects_a_missing_entity() -> None:
    resource = {"metadata": {"guid": cf.guid(), "created_at": "2026-10-05T10:00:00Z"}}
    with pytest.raises(errors.InvalidEvent):
        events.decode(_message("app", "v2", resource), NOW)
