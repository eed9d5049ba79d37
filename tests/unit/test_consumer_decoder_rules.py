"""Decoding v2 and v3 messages (consumer.decoder): what is stored (guid, time, raw message),
what is refused and why. The columns are derived by the database
(tests/integration/test_derived_columns.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import orjson
import pytest

from consumer import decoder
from shared import errors, events
from shared.states import ApiVersion, EventKind
from tests.support import cf_resources as cf

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _message(kind: str, version: str, resource: dict[str, Any]) -> bytes:
    event_guid = resource["metadata"]["guid"] if version == "v2" else resource["guid"]
    raw = msgspec.Raw(orjson.dumps(resource))
    message = events.Message("default", EventKind(kind), ApiVersion(version), 7, event_guid, raw)
    return events.encode(message)


def test_events_decode_v2_keeps_the_entity_as_raw_message() -> None:
    entity = cf.v2_app_entity()
    resource = cf.v2_resource(entity)
    stored = decoder.decode(_message("app", "v2", resource))
    assert orjson.loads(stored.raw_json) == entity
    assert stored.guid == resource["metadata"]["guid"]
    assert stored.created_at == datetime(2026, 10, 5, 10, tzinfo=UTC)
    assert stored.sequence == 7


def test_events_decode_v3_keeps_the_resource_as_raw_message() -> None:
    resource = cf.v3_app_resource()
    stored = decoder.decode(_message("app", "v3", resource))
    assert orjson.loads(stored.raw_json) == resource
    assert stored.guid == resource["guid"]


def test_events_decode_keeps_unknown_states() -> None:
    entity = cf.v2_app_entity(state="SOMETHING_NEW")
    stored = decoder.decode(_message("app", "v2", cf.v2_resource(entity)))
    assert orjson.loads(stored.raw_json)["state"] == "SOMETHING_NEW"


@pytest.mark.parametrize(
    "created_at", ["1970-01-01T00:00:00Z", "2001-05-01T00:00:00+02:00", "9999-01-01T00:00:00Z"]
)
def test_events_decode_stores_any_time_the_api_gives(created_at: str) -> None:
    """The API listed it, so it is usage: an unusual time is stored (and logged by the writer)."""
    resource = cf.v2_resource(cf.v2_app_entity(), created_at=created_at)
    stored = decoder.decode(_message("app", "v2", resource))
    assert stored.created_at.isoformat().startswith(created_at[:10])
    assert not events.is_usual_time(stored.created_at, NOW)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"instance_count": "many"}, "instance_count"),
        ({"instance_count": -1}, "instance_count"),
        ({"memory_in_mb_per_instance": 10**12}, "memory_in_mb_per_instance"),
        ({"memory_in_mb_per_instance": 1.5}, "memory_in_mb_per_instance"),
        ({"state": None}, "state"),
        ({"app_name": "bad\x00name"}, "app_name"),
        ({"org_guid": "o" * 8000}, "org_guid"),
        ({"app_name": "n" * 256}, "app_name"),
        ({"buildpack_name": "b" * 4097}, "buildpack_name"),
        ({"previous_state": "s" * 65}, "previous_state"),
        ({"app_guid": 0}, "app_guid"),
        ({"extra": "x" * 70_000}, "raw_message"),
    ],
)
def test_events_decode_rejects_bad_values_naming_the_field(
    overrides: dict[str, Any], field: str
) -> None:
    entity = cf.v2_app_entity(**overrides)
    with pytest.raises(errors.InvalidEvent, match=field):
        decoder.decode(_message("app", "v2", cf.v2_resource(entity)))


@pytest.mark.parametrize("created_at", ["yesterday", "2026-10-05T10:00:00", "2026-13-01T00:00:00Z"])
def test_events_decode_rejects_what_is_not_an_rfc3339_time(created_at: str) -> None:
    resource = cf.v2_resource(cf.v2_app_entity(), created_at=created_at)
    with pytest.raises(errors.InvalidEvent, match=r"metadata\.created_at"):
        decoder.decode(_message("app", "v2", resource))


def test_events_decode_rejects_a_guid_that_is_not_36_characters() -> None:
    resource = cf.v2_resource(cf.v2_app_entity(), event_guid="x" * 37)
    with pytest.raises(errors.InvalidEvent, match="guid"):
        decoder.decode(_message("app", "v2", resource))


def test_events_decode_rejects_a_missing_entity() -> None:
    resource = {"metadata": {"guid": cf.guid(), "created_at": "2026-10-05T10:00:00Z"}}
    with pytest.raises(errors.InvalidEvent):
        decoder.decode(_message("app", "v2", resource))
