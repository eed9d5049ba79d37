"""A plainly valid message body decoded straight into the event to store, or None.

The consumer's hot path. Every body this project publishes is plain: msgspec parses and
type-checks it in one pass in C. Parsing it into dicts and validating it with the pydantic
models (`shared.messages`, `shared.events`) took one and a half (v2) to four (v3) times as
long. Anything this module does not accept as it stands (a wrong type, a value out of range,
a missing field, a lax-mode coercion, a `\\u` escape, a time in another shape) is None, and
the models then decide it and name what is wrong. A property test holds the two paths to the
same event for every body this one accepts.

The raw message is stored as the bytes the body holds (PostgreSQL parses them as jsonb),
not parsed and rendered again. So a number beyond 64 bits in a field no column reads keeps
its digits (the models' path reads it through orjson as a float, rounded, or refuses the body
when the float would be infinite).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from shared.events import (
    MAX_CC_INTEGER,
    AppRow,
    ServiceRow,
    StoredEvent,
    is_plausible_time,
)
from shared.messages import FOUNDATION_MAX_LENGTH
from shared.states import ApiVersion, EventKind

# A count or memory figure as the Cloud Controller can hold it (events.CcInt).
_CcInt = Annotated[int, msgspec.Meta(ge=0, le=MAX_CC_INTEGER)]
# A state name (events.StateText).
_State = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
# An event guid (events._Row.guid).
_Guid = Annotated[str, msgspec.Meta(min_length=36, max_length=36)]
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
    guid: _Guid
    created_at: str


class _V2Resource(msgspec.Struct):
    metadata: _V2Metadata
    entity: msgspec.Raw


class _V2AppEntity(msgspec.Struct):
    state: _State
    instance_count: _CcInt
    memory_in_mb_per_instance: _CcInt
    previous_state: str | None = None
    previous_instance_count: _CcInt | None = None
    previous_memory_in_mb_per_instance: _CcInt | None = None
    app_guid: str | None = None
    app_name: str | None = None
    process_type: str | None = None
    parent_app_guid: str | None = None
    parent_app_name: str | None = None
    space_guid: str | None = None
    space_name: str | None = None
    org_guid: str | None = None
    task_guid: str | None = None
    task_name: str | None = None
    buildpack_guid: str | None = None
    buildpack_name: str | None = None


class _V2ServiceEntity(msgspec.Struct):
    state: _State
    service_instance_guid: Annotated[str, msgspec.Meta(min_length=1)]
    org_guid: str | None = None
    space_guid: str | None = None
    space_name: str | None = None
    service_instance_name: str | None = None
    service_instance_type: str | None = None
    service_plan_guid: str | None = None
    service_plan_name: str | None = None
    service_guid: str | None = None
    service_label: str | None = None
    service_broker_guid: str | None = None
    service_broker_name: str | None = None


class _Named(msgspec.Struct):
    guid: str | None = None
    name: str | None = None


class _Process(msgspec.Struct):
    guid: str | None = None
    type: str | None = None


class _StateChange(msgspec.Struct):
    current: _State
    previous: str | None = None


class _CountChange(msgspec.Struct):
    current: _CcInt
    previous: _CcInt | None = None


class _ServiceInstance(msgspec.Struct):
    guid: Annotated[str, msgspec.Meta(min_length=1)]
    name: str | None = None
    type: str | None = None


class _V3App(msgspec.Struct):
    guid: _Guid
    created_at: str
    state: _StateChange
    instance_count: _CountChange
    memory_in_mb_per_instance: _CountChange
    app: _Named | None = None
    process: _Process | None = None
    space: _Named | None = None
    organization: _Named | None = None
    task: _Named | None = None
    buildpack: _Named | None = None


class _V3Service(msgspec.Struct):
    guid: _Guid
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
_V2_APP = msgspec.json.Decoder(_V2AppEntity)
_V2_SERVICE = msgspec.json.Decoder(_V2ServiceEntity)
_V3_APP = msgspec.json.Decoder(_V3App)
_V3_SERVICE = msgspec.json.Decoder(_V3Service)
_NOBODY = _Named()
_NO_PROCESS = _Process()
_KINDS = {kind.value: kind for kind in EventKind}
_VERSIONS = {version.value: version for version in ApiVersion}


def decode(body: bytes, now: datetime) -> StoredEvent | None:
    """The event a plainly valid body carries; None when the models must decide it."""
    try:
        message = _MESSAGE.decode(body)
        row: AppRow | ServiceRow | None
        if message.api_version == "v2":
            resource = _V2_RESOURCE.decode(message.resource)
            raw = resource.entity
            guid, when = resource.metadata.guid, _time(resource.metadata.created_at, now)
            if when is None:
                return None
            if message.kind == "app":
                row = _v2_app(guid, when, _V2_APP.decode(raw))
            else:
                row = _v2_service(guid, when, _V2_SERVICE.decode(raw))
        else:
            raw = message.resource
            if message.kind == "app":
                app = _V3_APP.decode(raw)
                guid, when = app.guid, _time(app.created_at, now)
                row = None if when is None else _v3_app(guid, when, app)
            else:
                service = _V3_SERVICE.decode(raw)
                guid, when = service.guid, _time(service.created_at, now)
                row = None if when is None else _v3_service(guid, when, service)
        raw_json = bytes(raw).decode()
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
        return None
    if row is None or guid != message.guid or "\\u" in raw_json:
        return None
    return StoredEvent(
        kind=_KINDS[message.kind],
        foundation=message.foundation,
        api_version=_VERSIONS[message.api_version],
        sequence=message.sequence,
        row=row,
        raw_json=raw_json,
    )


def _time(text: str, now: datetime) -> datetime | None:
    """An event time in the one plain shape and a plausible range; else None."""
    if _TIME.fullmatch(text) is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if is_plausible_time(when, now) else None


def _v2_app(guid: str, when: datetime, entity: _V2AppEntity) -> AppRow:
    return AppRow(
        guid,
        when,
        entity.state,
        entity.previous_state,
        entity.instance_count,
        entity.previous_instance_count,
        entity.memory_in_mb_per_instance,
        entity.previous_memory_in_mb_per_instance,
        entity.app_guid or None,
        entity.process_type,
        entity.app_name or entity.parent_app_name,
        entity.parent_app_guid,
        entity.parent_app_name,
        entity.space_guid,
        entity.space_name,
        entity.org_guid,
        entity.task_guid,
        entity.task_name,
        entity.buildpack_guid,
        entity.buildpack_name,
    )


def _v2_service(guid: str, when: datetime, entity: _V2ServiceEntity) -> ServiceRow:
    return ServiceRow(
        guid,
        when,
        entity.state,
        entity.org_guid,
        entity.space_guid,
        entity.space_name,
        entity.service_instance_guid,
        entity.service_instance_name,
        entity.service_instance_type,
        entity.service_plan_guid,
        entity.service_plan_name,
        entity.service_guid,
        entity.service_label,
        entity.service_broker_guid,
        entity.service_broker_name,
    )


def _v3_app(guid: str, when: datetime, resource: _V3App) -> AppRow:
    app = resource.app or _NOBODY
    process = resource.process or _NO_PROCESS
    space = resource.space or _NOBODY
    task = resource.task or _NOBODY
    buildpack = resource.buildpack or _NOBODY
    return AppRow(
        guid,
        when,
        resource.state.current,
        resource.state.previous,
        resource.instance_count.current,
        resource.instance_count.previous,
        resource.memory_in_mb_per_instance.current,
        resource.memory_in_mb_per_instance.previous,
        process.guid or None,
        process.type,
        app.name,
        app.guid,
        app.name,
        space.guid,
        space.name,
        (resource.organization or _NOBODY).guid,
        task.guid,
        task.name,
        buildpack.guid,
        buildpack.name,
    )


def _v3_service(guid: str, when: datetime, resource: _V3Service) -> ServiceRow:
    space = resource.space or _NOBODY
    instance = resource.service_instance
    plan = resource.service_plan or _NOBODY
    offering = resource.service_offering or _NOBODY
    broker = resource.service_broker or _NOBODY
    return ServiceRow(
        guid,
        when,
        resource.state,
        (resource.organization or _NOBODY).guid,
        space.guid,
        space.name,
        instance.guid,
        instance.name,
        instance.type,
        plan.guid,
        plan.name,
        offering.guid,
        offering.name,
        broker.guid,
        broker.name,
    )
