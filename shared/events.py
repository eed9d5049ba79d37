"""Validate CF usage-event resources (v2 and v3): the event to store, or why not.

The database derives every column from the raw message (migration 0009, the one place that
maps a raw message to columns), so this module only decides whether an event can be stored,
and what the consumer copies: sequence, guid, time, raw message and foundation. An event whose
fields have the types the API documents is stored whatever its values (a time in 2001 or next
year, a state nobody knows); counts and memory must fit the Cloud Controller's own integer
columns, and text fields have the length limits below, so that nothing unreadable or
unindexable reaches PostgreSQL. Every rejection names the field and the value.

The consumer's hot path (`consumer/plain_body.py`) takes plainly valid bodies with msgspec; the
models here take every other body, with the same rules, and name what is wrong.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, NamedTuple

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared import errors
from shared.messages import UsageEventMessage
from shared.states import ApiVersion, EventKind

# The Cloud Controller stores counts and memory in 32-bit integer columns.
MAX_CC_INTEGER = 2**31 - 1
# Longest guid an event may refer to (org, space, app, process, task, instance, plan, ...):
# the Cloud Controller's own columns are varchar(255).
MAX_GUID_LENGTH = 255
# Longest name or type (app, space, task, instance, plan, offering, broker, process type).
MAX_NAME_LENGTH = 255
# Longest buildpack name (v2 may give a buildpack's URL).
MAX_BUILDPACK_NAME_LENGTH = 4096
# Longest state or previous state.
MAX_STATE_LENGTH = 64
# Largest raw message (v2 entity, v3 resource) as JSON, in bytes: a real one is about 1 KB.
MAX_RAW_MESSAGE_BYTES = 64 * 1024
# How far ahead of now an event's time may be before it is called unusual (clock skew).
MAX_FUTURE_SKEW = timedelta(days=1)
# Cloud Foundry usage events began in 2014: an earlier time is unusual (stored, and logged).
EARLIEST_USUAL_TIME = datetime(2010, 1, 1, tzinfo=UTC)

# A count or memory figure as the Cloud Controller can hold it.
CcInt = Annotated[int, Field(strict=True, ge=0, le=MAX_CC_INTEGER)]
# The event's own guid.
EventGuid = Annotated[str, Field(min_length=36, max_length=36)]
# A guid the event refers to.
RefGuid = Annotated[str, Field(max_length=MAX_GUID_LENGTH)]
# A name or a type.
Name = Annotated[str, Field(max_length=MAX_NAME_LENGTH)]
BuildpackName = Annotated[str, Field(max_length=MAX_BUILDPACK_NAME_LENGTH)]
# A state: any short string (unknown states are stored and ignored).
State = Annotated[str, Field(min_length=1, max_length=MAX_STATE_LENGTH)]
PreviousState = Annotated[str, Field(max_length=MAX_STATE_LENGTH)]


class StoredEvent(NamedTuple):
    """What the consumer copies: the database derives every other column from raw_json.

    Built only from values validated already (by the models here, or by the consumer's
    plain-body decoder), so a plain tuple.
    """

    kind: EventKind
    foundation: str
    api_version: ApiVersion
    sequence: int
    guid: str
    created_at: datetime
    # The raw message (v2 entity, v3 resource) as JSON text, which PostgreSQL stores as jsonb.
    raw_json: str


class _Shape(BaseModel):
    # Fields CF adds in later versions are ignored here and kept in raw_message.
    model_config = ConfigDict(frozen=True, extra="ignore")


class _Time(_Shape):
    created_at: datetime

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


class V2Metadata(_Time):
    guid: EventGuid


class V2AppEntity(_Shape):
    """A v2 app usage event's entity (CF API spec §3.4)."""

    state: State
    previous_state: PreviousState | None = None
    instance_count: CcInt
    previous_instance_count: CcInt | None = None
    memory_in_mb_per_instance: CcInt
    previous_memory_in_mb_per_instance: CcInt | None = None
    app_guid: RefGuid | None = None
    app_name: Name | None = None
    process_type: Name | None = None
    parent_app_guid: RefGuid | None = None
    parent_app_name: Name | None = None
    space_guid: RefGuid | None = None
    space_name: Name | None = None
    org_guid: RefGuid | None = None
    task_guid: RefGuid | None = None
    task_name: Name | None = None
    buildpack_guid: RefGuid | None = None
    buildpack_name: BuildpackName | None = None


class V2ServiceEntity(_Shape):
    """A v2 service usage event's entity (CF API spec §3.4)."""

    state: State
    service_instance_guid: Annotated[str, Field(min_length=1, max_length=MAX_GUID_LENGTH)]
    org_guid: RefGuid | None = None
    space_guid: RefGuid | None = None
    space_name: Name | None = None
    service_instance_name: Name | None = None
    service_instance_type: Name | None = None
    service_plan_guid: RefGuid | None = None
    service_plan_name: Name | None = None
    service_guid: RefGuid | None = None
    service_label: Name | None = None
    service_broker_guid: RefGuid | None = None
    service_broker_name: Name | None = None


class Named(_Shape):
    guid: RefGuid | None = None
    name: Name | None = None


class Buildpack(_Shape):
    guid: RefGuid | None = None
    name: BuildpackName | None = None


class Process(_Shape):
    guid: RefGuid | None = None
    type: Name | None = None


class StateChange(_Shape):
    current: State
    previous: PreviousState | None = None


class CountChange(_Shape):
    current: CcInt
    previous: CcInt | None = None


class ServiceInstance(_Shape):
    guid: Annotated[str, Field(min_length=1, max_length=MAX_GUID_LENGTH)]
    name: Name | None = None
    type: Name | None = None


class V3AppResource(_Time):
    """A v3 app usage event (CF API spec §4.5)."""

    guid: EventGuid
    state: StateChange
    instance_count: CountChange
    memory_in_mb_per_instance: CountChange
    app: Named | None = None
    process: Process | None = None
    space: Named | None = None
    organization: Named | None = None
    task: Named | None = None
    buildpack: Buildpack | None = None


class V3ServiceResource(_Time):
    """A v3 service usage event (CF API spec §4.6)."""

    guid: EventGuid
    state: State
    service_instance: ServiceInstance
    space: Named | None = None
    organization: Named | None = None
    service_plan: Named | None = None
    service_offering: Named | None = None
    service_broker: Named | None = None


def decode(message: UsageEventMessage) -> StoredEvent:
    """The event a message carries; raise InvalidEvent naming the field and value."""
    resource = message.resource
    try:
        if message.api_version is ApiVersion.V2:
            guid, created_at, raw = _v2(message.kind, resource)
        else:
            guid, created_at, raw = _v3(message.kind, resource)
    except ValidationError as exc:
        raise errors.InvalidEvent(_describe(exc)) from None
    if guid != message.guid:
        raise errors.InvalidEvent(f"guid: message says {message.guid!r}, resource {guid!r}")
    return StoredEvent(
        kind=message.kind,
        foundation=message.foundation,
        api_version=message.api_version,
        sequence=message.sequence,
        guid=guid,
        created_at=created_at,
        raw_json=_render(raw),
    )


def _v2(kind: EventKind, resource: dict[str, Any]) -> tuple[str, datetime, Any]:
    if "entity" not in resource or "metadata" not in resource:
        missing = "entity" if "entity" not in resource else "metadata"
        raise errors.InvalidEvent(f"{missing}: a v2 resource needs metadata and entity")
    try:
        metadata = V2Metadata.model_validate(resource["metadata"])
    except ValidationError as exc:
        raise errors.InvalidEvent(_describe(exc, "metadata")) from None
    entity = resource["entity"]
    if not isinstance(entity, dict):
        raise errors.InvalidEvent(f"entity: expected an object, got {entity!r:.80}")
    # The entity's fields are named as the columns they fill: `instance_count`, not a path.
    (V2AppEntity if kind is EventKind.APP else V2ServiceEntity).model_validate(entity)
    return metadata.guid, metadata.created_at, entity


def _v3(kind: EventKind, resource: dict[str, Any]) -> tuple[str, datetime, Any]:
    model = V3AppResource if kind is EventKind.APP else V3ServiceResource
    valid = model.model_validate(resource)
    return valid.guid, valid.created_at, resource


def is_usual_time(created_at: datetime, now: datetime) -> bool:
    """An event time after usage events began and at most MAX_FUTURE_SKEW ahead of now.

    An unusual time is stored all the same (the API listed the event); the consumer logs it.
    """
    return EARLIEST_USUAL_TIME <= created_at <= now + MAX_FUTURE_SKEW


def _render(raw: Any) -> str:
    """raw_message as JSON text; InvalidEvent naming a NUL, a size over the limit, or when it
    cannot be rendered."""
    try:
        text = orjson.dumps(raw)
    except orjson.JSONEncodeError as exc:  # too deep or an int past 64 bits
        _check_text(raw)  # a NUL is the better reason
        raise errors.InvalidEvent(f"raw_message: cannot be stored as JSON: {exc}") from None
    if b"\\u0000" in text:
        _check_text(raw)  # names where the NUL is (a literal backslash-u0000 is not one)
    if len(text) > MAX_RAW_MESSAGE_BYTES:
        raise errors.InvalidEvent(
            f"raw_message: {len(text)} bytes, more than the {MAX_RAW_MESSAGE_BYTES} "
            "a usage event may have"
        )
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


def _describe(exc: ValidationError, prefix: str = "") -> str:
    first = exc.errors()[0]
    parts = [prefix] if prefix else []
    parts += [str(part) for part in first["loc"]]
    field = ".".join(parts) or "resource"
    value = first.get("input")
    return f"{field}: {first['msg']} (got {value!r:.80})"
