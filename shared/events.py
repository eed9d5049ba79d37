"""Decode CF usage-event resources (v2 and v3) into the normalized rows the tables store.

Validation is strict where money depends on it (counts and memory are integers within the
Cloud Controller's own column range, times are RFC 3339), permissive where CF is (unknown
states are kept). Every rejection names the field and the value.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, NamedTuple

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from shared import errors
from shared.messages import UsageEventMessage
from shared.states import ApiVersion, EventKind

# The Cloud Controller stores counts and memory in 32-bit integer columns.
MAX_CC_INTEGER = 2**31 - 1
# How far in the future an event's created_at may be before it is called absurd (clock skew).
MAX_FUTURE_SKEW = timedelta(days=1)
# The earliest plausible event time (Cloud Foundry usage events began in 2014).
EARLIEST_EVENT = datetime(2010, 1, 1, tzinfo=UTC)

# A count or memory figure as the Cloud Controller can hold it.
CcInt = Annotated[int, Field(strict=True, ge=0, le=MAX_CC_INTEGER)]
# A state name: any short string (unknown states are stored and ignored).
StateText = Annotated[str, Field(min_length=1, max_length=64)]


class _Row(BaseModel):
    # Fields CF adds in later versions are ignored here and kept in raw_message.
    model_config = ConfigDict(frozen=True, extra="ignore")

    guid: str = Field(min_length=36, max_length=36)
    created_at: datetime
    state: StateText

    @field_validator("created_at", mode="before")
    @classmethod
    def _text_time(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("must be an RFC 3339 time string")
        return value

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must carry a UTC offset")
        return value


class AppEventRow(_Row):
    """The normalized columns of one app usage event."""

    previous_state: str | None = None
    instance_count: CcInt
    previous_instance_count: CcInt | None = None
    memory_in_mb_per_instance: CcInt
    previous_memory_in_mb_per_instance: CcInt | None = None
    process_guid: str | None = None
    process_type: str | None = None
    app_name: str | None = None
    parent_app_guid: str | None = None
    parent_app_name: str | None = None
    space_guid: str | None = None
    space_name: str | None = None
    org_guid: str | None = None
    task_guid: str | None = None
    task_name: str | None = None
    buildpack_guid: str | None = None
    buildpack_name: str | None = None


class ServiceEventRow(_Row):
    """The normalized columns of one service usage event."""

    org_guid: str | None = None
    space_guid: str | None = None
    space_name: str | None = None
    service_instance_guid: str = Field(min_length=1)
    service_instance_name: str | None = None
    service_instance_type: str | None = None
    service_plan_guid: str | None = None
    service_plan_name: str | None = None
    service_guid: str | None = None
    service_label: str | None = None
    service_broker_guid: str | None = None
    service_broker_name: str | None = None


class AppRow(NamedTuple):
    """The normalized columns of one app usage event, as validated (AppEventRow's fields)."""

    guid: str
    created_at: datetime
    state: str
    previous_state: str | None
    instance_count: int
    previous_instance_count: int | None
    memory_in_mb_per_instance: int
    previous_memory_in_mb_per_instance: int | None
    process_guid: str | None
    process_type: str | None
    app_name: str | None
    parent_app_guid: str | None
    parent_app_name: str | None
    space_guid: str | None
    space_name: str | None
    org_guid: str | None
    task_guid: str | None
    task_name: str | None
    buildpack_guid: str | None
    buildpack_name: str | None


class ServiceRow(NamedTuple):
    """The normalized columns of one service usage event (ServiceEventRow's fields)."""

    guid: str
    created_at: datetime
    state: str
    org_guid: str | None
    space_guid: str | None
    space_name: str | None
    service_instance_guid: str
    service_instance_name: str | None
    service_instance_type: str | None
    service_plan_guid: str | None
    service_plan_name: str | None
    service_guid: str | None
    service_label: str | None
    service_broker_guid: str | None
    service_broker_name: str | None


class StoredEvent(NamedTuple):
    """What the consumer writes: the row, the raw message and where it came from.

    Built only from values validated already (by the models here, or by the consumer's
    plain-body decoder), so a plain tuple: a model would check its fields a second time, and
    even with validation skipped costs several times more to build.
    """

    kind: EventKind
    foundation: str
    api_version: ApiVersion
    sequence: int
    row: AppRow | ServiceRow
    # The raw message (v2 entity, v3 resource) as JSON text, which PostgreSQL stores as jsonb.
    raw_json: str


def decode(message: UsageEventMessage, now: datetime) -> StoredEvent:
    """Normalize a message's resource; raise InvalidEvent naming the field and value."""
    resource = message.resource
    try:
        raw, fields = _extract(message.kind, message.api_version, resource)
        fields["guid"] = _guid_of(message.api_version, resource)
        row: AppRow | ServiceRow
        if message.kind is EventKind.APP:
            row = AppRow(**dict(AppEventRow.model_validate(fields)))
        else:
            row = ServiceRow(**dict(ServiceEventRow.model_validate(fields)))
    except ValidationError as exc:
        raise errors.InvalidEvent(_describe(exc)) from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise errors.InvalidEvent(f"malformed resource: {type(exc).__name__} {exc}") from None
    if row.guid != message.guid:
        raise errors.InvalidEvent(f"guid: message says {message.guid!r}, resource {row.guid!r}")
    _check_time(row.created_at, now)
    raw_json = _render(raw)
    return StoredEvent(
        kind=message.kind,
        foundation=message.foundation,
        api_version=message.api_version,
        sequence=message.sequence,
        row=row,
        raw_json=raw_json,
    )


def _extract(
    kind: EventKind, version: ApiVersion, resource: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    if version is ApiVersion.V2:
        entity = resource["entity"]
        if not isinstance(entity, dict):
            raise errors.InvalidEvent(f"entity: expected an object, got {entity!r:.80}")
        fields = _v2_app(entity) if kind is EventKind.APP else dict(entity)
        fields["created_at"] = resource["metadata"]["created_at"]
        return entity, fields
    fields = _v3_app(resource) if kind is EventKind.APP else _v3_service(resource)
    fields["created_at"] = resource["created_at"]
    return resource, fields


def _guid_of(version: ApiVersion, resource: dict[str, Any]) -> Any:
    return resource["metadata"]["guid"] if version is ApiVersion.V2 else resource["guid"]


def _v2_app(entity: dict[str, Any]) -> dict[str, Any]:
    fields = dict(entity)
    fields.pop("package_state", None)
    fields.pop("previous_package_state", None)
    app_guid = fields.pop("app_guid", None)
    fields["process_guid"] = app_guid or None
    fields["app_name"] = fields.get("app_name") or fields.get("parent_app_name")
    return fields


def _v3_app(resource: dict[str, Any]) -> dict[str, Any]:
    state = _obj(resource, "state")
    app = _obj(resource, "app")
    process = _obj(resource, "process")
    space = _obj(resource, "space")
    task = _obj(resource, "task")
    buildpack = _obj(resource, "buildpack")
    memory = _obj(resource, "memory_in_mb_per_instance")
    instances = _obj(resource, "instance_count")
    return {
        "state": state.get("current"),
        "previous_state": state.get("previous"),
        "instance_count": instances.get("current"),
        "previous_instance_count": instances.get("previous"),
        "memory_in_mb_per_instance": memory.get("current"),
        "previous_memory_in_mb_per_instance": memory.get("previous"),
        "process_guid": process.get("guid") or None,
        "process_type": process.get("type"),
        "app_name": app.get("name"),
        "parent_app_guid": app.get("guid"),
        "parent_app_name": app.get("name"),
        "space_guid": space.get("guid"),
        "space_name": space.get("name"),
        "org_guid": _obj(resource, "organization").get("guid"),
        "task_guid": task.get("guid"),
        "task_name": task.get("name"),
        "buildpack_guid": buildpack.get("guid"),
        "buildpack_name": buildpack.get("name"),
    }


def _v3_service(resource: dict[str, Any]) -> dict[str, Any]:
    space = _obj(resource, "space")
    instance = _obj(resource, "service_instance")
    plan = _obj(resource, "service_plan")
    offering = _obj(resource, "service_offering")
    broker = _obj(resource, "service_broker")
    return {
        "state": resource.get("state"),
        "org_guid": _obj(resource, "organization").get("guid"),
        "space_guid": space.get("guid"),
        "space_name": space.get("name"),
        "service_instance_guid": instance.get("guid"),
        "service_instance_name": instance.get("name"),
        "service_instance_type": instance.get("type"),
        "service_plan_guid": plan.get("guid"),
        "service_plan_name": plan.get("name"),
        "service_guid": offering.get("guid"),
        "service_label": offering.get("name"),
        "service_broker_guid": broker.get("guid"),
        "service_broker_name": broker.get("name"),
    }


def _obj(resource: dict[str, Any], key: str) -> dict[str, Any]:
    value = resource.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.InvalidEvent(f"{key}: expected an object, got {value!r:.80}")
    return value


def is_plausible_time(created_at: datetime, now: datetime) -> bool:
    """An event time after usage events began and at most MAX_FUTURE_SKEW ahead of now."""
    return EARLIEST_EVENT <= created_at <= now + MAX_FUTURE_SKEW


def _check_time(created_at: datetime, now: datetime) -> None:
    if not is_plausible_time(created_at, now):
        raise errors.InvalidEvent(f"created_at: {created_at.isoformat()} is not a plausible time")


def _render(raw: dict[str, Any]) -> str:
    """raw_message as JSON text; InvalidEvent naming a NUL, or when it cannot be rendered."""
    try:
        text = orjson.dumps(raw)
    except orjson.JSONEncodeError as exc:  # too deep or an int past 64 bits
        _check_text(raw)  # a NUL is the better reason
        raise errors.InvalidEvent(f"raw_message: cannot be stored as JSON: {exc}") from None
    if b"\\u0000" in text:
        _check_text(raw)  # names where the NUL is (a literal backslash-u0000 is not one)
    return text.decode()


def _check_text(value: Any, path: str = "") -> None:
    """PostgreSQL cannot store NUL in text or jsonb; name where it is."""
    if not path and _has_no_nul(value):
        return  # fast path: one C-level render instead of a Python walk of every value
    if isinstance(value, str):
        if "\x00" in value:
            raise errors.InvalidEvent(f"{path or 'value'}: contains a NUL character")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, path)
            _check_text(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_text(item, f"{path}[{index}]")


def _has_no_nul(value: Any) -> bool:
    try:
        return b"\\u0000" not in orjson.dumps(value)
    except orjson.JSONEncodeError:  # too deep or an int past 64 bits: walk it instead
        return False


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "resource"
    value = first.get("input")
    return f"{field}: {first['msg']} (got {value!r:.80})"
