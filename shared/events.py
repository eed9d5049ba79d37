"""The usage-event message: its one schema, and the one decoder the consumer reads it with.

A message is one CF usage event as the API listed it (`resource`: v2 `{"metadata",
"entity"}`, v3 the resource object, its JSON bytes as the API sent them) with its place in
the API's order (`sequence`, stored as `id`). The producer builds `Message`s and `encode`s
them; the consumer `decode`s a body into the `StoredEvent` it copies, or refuses it with
InvalidEvent naming the field and the value; the tests build them the same way.

The database derives every other column from the raw message (migration 0009), so decoding
only decides whether an event can be stored. An event whose fields have the types the API
documents is stored whatever its values (a time in 2001 or next year, a state nobody knows);
counts and memory must fit the Cloud Controller's own integer columns, and text fields have
the length limits below, so that nothing unreadable or unindexable reaches PostgreSQL.
The resource structs below are validators: a resource is decoded to check it, then dropped,
and its bytes are stored as they came (PostgreSQL parses them as jsonb).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, NamedTuple

import msgspec

from shared.messages import FOUNDATION_MAX_LENGTH
from shared.states import ApiVersion, EventKind

# The schema_version of every message (the only one there is).
SCHEMA_VERSION: Literal[1] = 1
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
# Largest raw message (v2 entity, v3 resource) as compact JSON, in bytes: a real one is ~1 KB.
MAX_RAW_MESSAGE_BYTES = 64 * 1024
# Largest message body decoded: the raw message and an envelope that adds little.
MAX_BODY_BYTES = 2 * MAX_RAW_MESSAGE_BYTES
# How far ahead of now an event's time may be before it is called unusual (clock skew).
MAX_FUTURE_SKEW = timedelta(days=1)
# Cloud Foundry usage events began in 2014: an earlier time is unusual (stored, and logged).
EARLIEST_USUAL_TIME = datetime(2010, 1, 1, tzinfo=UTC)

# A count or memory figure as the Cloud Controller can hold it.
CcInt = Annotated[int, msgspec.Meta(ge=0, le=MAX_CC_INTEGER)]
# The event's own guid.
EventGuid = Annotated[str, msgspec.Meta(min_length=36, max_length=36)]
# A guid the event refers to, and the one a service event cannot do without.
RefGuid = Annotated[str, msgspec.Meta(max_length=MAX_GUID_LENGTH)]
InstanceGuid = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_GUID_LENGTH)]
# A name or a type.
Name = Annotated[str, msgspec.Meta(max_length=MAX_NAME_LENGTH)]
BuildpackName = Annotated[str, msgspec.Meta(max_length=MAX_BUILDPACK_NAME_LENGTH)]
# A state: any short string (unknown states are stored and ignored).
State = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_STATE_LENGTH)]
PreviousState = Annotated[str, msgspec.Meta(max_length=MAX_STATE_LENGTH)]
Foundation = Annotated[str, msgspec.Meta(min_length=1, max_length=FOUNDATION_MAX_LENGTH)]


class Message(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """One CF usage event, as listed by the API, with its place in the API's order."""

    foundation: Foundation
    kind: EventKind
    api_version: ApiVersion
    # Position in the API's order for this foundation and kind: stored as `id`.
    sequence: Annotated[int, msgspec.Meta(ge=1)]
    guid: str
    # The resource's JSON as the API sent it: v2 `{"metadata", "entity"}`, v3 the resource.
    resource: msgspec.Raw
    schema_version: Literal[1] = SCHEMA_VERSION


class StoredEvent(NamedTuple):
    """What the consumer copies: the database derives every other column from raw_json."""

    kind: EventKind
    foundation: str
    api_version: ApiVersion
    sequence: int
    guid: str
    created_at: datetime
    # The raw message (v2 entity, v3 resource) as JSON text, which PostgreSQL stores as jsonb.
    raw_json: str


class V2Metadata(msgspec.Struct, gc=False):
    created_at: str
    guid: EventGuid


class V2Resource(msgspec.Struct, gc=False):
    metadata: V2Metadata
    # The raw message; validated by V2AppEntity or V2ServiceEntity.
    entity: msgspec.Raw


class V2AppEntity(msgspec.Struct, gc=False):
    """A v2 app usage event's entity (CF API spec §3.4)."""

    state: State
    instance_count: CcInt
    memory_in_mb_per_instance: CcInt
    previous_state: PreviousState | None = None
    previous_instance_count: CcInt | None = None
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


class V2ServiceEntity(msgspec.Struct, gc=False):
    """A v2 service usage event's entity (CF API spec §3.4)."""

    state: State
    service_instance_guid: InstanceGuid
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


class Named(msgspec.Struct, gc=False):
    guid: RefGuid | None = None
    name: Name | None = None


class Buildpack(msgspec.Struct, gc=False):
    guid: RefGuid | None = None
    name: BuildpackName | None = None


class Process(msgspec.Struct, gc=False):
    guid: RefGuid | None = None
    type: Name | None = None


class StateChange(msgspec.Struct, gc=False):
    current: State
    previous: PreviousState | None = None


class CountChange(msgspec.Struct, gc=False):
    current: CcInt
    previous: CcInt | None = None


class ServiceInstance(msgspec.Struct, gc=False):
    guid: InstanceGuid
    name: Name | None = None
    type: Name | None = None


class V3AppResource(msgspec.Struct, gc=False):
    """A v3 app usage event (CF API spec §4.5)."""

    created_at: str
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


class V3ServiceResource(msgspec.Struct, gc=False):
    """A v3 service usage event (CF API spec §4.6)."""

    created_at: str
    guid: EventGuid
    state: State
    service_instance: ServiceInstance
    space: Named | None = None
    organization: Named | None = None
    service_plan: Named | None = None
    service_offering: Named | None = None
    service_broker: Named | None = None


def is_usual_time(created_at: datetime, now: datetime) -> bool:
    """An event time after usage events began and at most MAX_FUTURE_SKEW ahead of now.

    An unusual time is stored all the same (the API listed the event); the consumer logs it.
    """
    return EARLIEST_USUAL_TIME <= created_at <= now + MAX_FUTURE_SKEW


_ENCODER = msgspec.json.Encoder()


def encode(message: Message) -> bytes:
    """The JSON body to publish: the resource's bytes as they are."""
    return _ENCODER.encode(message)
