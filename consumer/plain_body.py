"""A plainly valid message body decoded straight into the event to store, or None.

The consumer's hot path. Every body this project publishes is plain: msgspec parses and
type-checks it in one pass in C. Parsing it into dicts and validating it with the pydantic
models (`shared.messages`, `shared.events`) took one and a half (v2) to four (v3) times as
long. Anything this module does not accept as it stands (a wrong type, a value out of range
or over a length limit, a missing field, a lax-mode coercion, a `\\u` escape, a time in another
shape) is None, and the models then decide it and name what is wrong. A property test holds
the two paths to the same event for every body this one accepts; the structs below mirror the
models of `shared.events` field for field, limits included.

The raw message is stored as the bytes the body holds (PostgreSQL parses them as jsonb and
derives the columns from them), not parsed and rendered again. So a number beyond 64 bits in
a field no column reads keeps its digits (the models' path reads it through orjson as a float,
rounded, or refuses the body when the float would be infinite).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from shared import events
from shared.messages import FOUNDATION_MAX_LENGTH
from shared.states import ApiVersion, EventKind

# The limits of shared.events, as msgspec constraints.
_CcInt = Annotated[int, msgspec.Meta(ge=0, le=events.MAX_CC_INTEGER)]
_EventGuid = Annotated[str, msgspec.Meta(min_length=36, max_length=36)]
_RefGuid = Annotated[str, msgspec.Meta(max_length=events.MAX_GUID_LENGTH)]
_InstanceGuid = Annotated[str, msgspec.Meta(min_length=1, max_length=events.MAX_GUID_LENGTH)]
_Name = Annotated[str, msgspec.Meta(max_length=events.MAX_NAME_LENGTH)]
_BuildpackName = Annotated[str, msgspec.Meta(max_length=events.MAX_BUILDPACK_NAME_LENGTH)]
_State = Annotated[str, msgspec.Meta(min_length=1, max_length=events.MAX_STATE_LENGTH)]
_PreviousState = Annotated[str, msgspec.Meta(max_length=events.MAX_STATE_LENGTH)]
# The one shape of time taken here: RFC 3339 with a `T`, at most microseconds and an offset,
# which datetime.fromisoformat reads as pydantic does (other shapes go to the model).
_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"
)
# Largest sequence the id column holds; a larger one is not plain.
_MAX_SEQUENCE = 2**63 - 1


class _Message(msgspec.Struct, forbid_unknown_fields=True):
    foundation: Annotated[str, msgspec.Meta(min_length=1, max_length=FOUNDATION_MAX_LENGTH)]
    kind: Literal["app", "service"]
    api_version: Literal["v2", "v3"]
    sequence: Annotated[int, msgspec.Meta(ge=1, le=_MAX_SEQUENCE)]
    guid: str
    resource: msgspec.Raw
    schema_version: Literal[1] = 1


class _V2Metadata(msgspec.Struct):
    guid: _EventGuid
    created_at: str


class _V2Resource(msgspec.Struct):
    metadata: _V2Metadata
    entity: msgspec.Raw


class _V2AppEntity(msgspec.Struct):
    state: _State
    instance_count: _CcInt
    memory_in_mb_per_instance: _CcInt
    previous_state: _PreviousState | None = None
    previous_instance_count: _CcInt | None = None
    previous_memory_in_mb_per_instance: _CcInt | None = None
    app_guid: _RefGuid | None = None
    app_name: _Name | None = None
    process_type: _Name | None = None
    parent_app_guid: _RefGuid | None = None
    parent_app_name: _Name | None = None
    space_guid: _RefGuid | None = None
    space_name: _Name | None = None
    org_guid: _RefGuid | None = None
    task_guid: _RefGuid | None = None
    task_name: _Name | None = None
    buildpack_guid: _RefGuid | None = None
    buildpack_name: _BuildpackName | None = None


class _V2ServiceEntity(msgspec.Struct):
    state: _State
    service_instance_guid: _InstanceGuid
    org_guid: _RefGuid | None = None
    space_guid: _RefGuid | None = None
    space_name: _Name | None = None
    service_instance_name: _Name | None = None
    service_instance_type: _Name | None = None
    service_plan_guid: _RefGuid | None = None
    service_plan_name: _Name | None = None
    service_guid: _RefGuid | None = None
    service_label: _Name | None = None
    service_broker_guid: _RefGuid | None = None
    service_broker_name: _Name | None = None


class _Named(msgspec.Struct):
    guid: _RefGuid | None = None
    name: _Name | None = None


class _Buildpack(msgspec.Struct):
    guid: _RefGuid | None = None
    name: _BuildpackName | None = None


class _Process(msgspec.Struct):
    guid: _RefGuid | None = None
    type: _Name | None = None


class _StateChange(msgspec.Struct):
    current: _State
    previous: _PreviousState | None = None


class _CountChange(msgspec.Struct):
    current: _CcInt
    previous: _CcInt | None = None


class _ServiceInstance(msgspec.Struct):
    guid: _InstanceGuid
    name: _Name | None = None
    type: _Name | None = None


class _V3App(msgspec.Struct):
    guid: _EventGuid
    created_at: str
    state: _StateChange
    instance_count: _CountChange
    memory_in_mb_per_instance: _CountChange
    app: _Named | None = None
    process: _Process | None = None
    space: _Named | None = None
    organization: _Named | None = None
    task: _Named | None = None
    buildpack: _Buildpack | None = None


class _V3Service(msgspec.Struct):
    guid: _EventGuid
    created_at: str
    state: _State
    service_instance: _ServiceInstance
    space: _Named | None = None
    organization: _Named | None = None
    service_plan: _Named | None = None
    service_offering: _Named | None = None
    service_broker: _Named | None = None


_MESSAGE = msgspec.json.Decoder(_Message)
_V2_RESOURCE = msgspec.json.Decoder(_V2Resource)
# Validators: a resource is decoded into its struct to check it, and the struct dropped.
_VALIDATORS: dict[tuple[str, str], msgspec.json.Decoder[Any]] = {
    ("app", "v2"): msgspec.json.Decoder(_V2AppEntity),
    ("service", "v2"): msgspec.json.Decoder(_V2ServiceEntity),
    ("app", "v3"): msgspec.json.Decoder(_V3App),
    ("service", "v3"): msgspec.json.Decoder(_V3Service),
}
_KINDS = {kind.value: kind for kind in EventKind}
_VERSIONS = {version.value: version for version in ApiVersion}


def decode(body: bytes) -> events.StoredEvent | None:
    """The event a plainly valid body carries; None when the models must decide it."""
    try:
        message = _MESSAGE.decode(body)
        validator = _VALIDATORS[(message.kind, message.api_version)]
        if message.api_version == "v2":
            resource = _V2_RESOURCE.decode(message.resource)
            raw = resource.entity
            validator.decode(raw)
            guid, created_at = resource.metadata.guid, resource.metadata.created_at
        else:
            raw = message.resource
            checked = validator.decode(raw)
            guid, created_at = checked.guid, checked.created_at
        raw_json = bytes(raw).decode()
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
        return None
    when = _time(created_at)
    if (
        when is None
        or guid != message.guid
        or "\\u" in raw_json
        or len(raw) > events.MAX_RAW_MESSAGE_BYTES
    ):
        return None
    return events.StoredEvent(
        kind=_KINDS[message.kind],
        foundation=message.foundation,
        api_version=_VERSIONS[message.api_version],
        sequence=message.sequence,
        guid=guid,
        created_at=when,
        raw_json=raw_json,
    )


def _time(text: str) -> datetime | None:
    """An event time in the one plain shape; else None."""
    if _TIME.fullmatch(text) is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
