"""The decoders as they were before issue 18, kept as the reference the property tests hold
the product's one msgspec decoder per boundary to: orjson and pydantic models, frozen here.

Not product code: nothing imports this but tests. Each function says what the old code
decided for a document: accepted (with what it made of it) or refused, and which fields the
refusal named (every error pydantic found, so that a decoder that stops at the first error
in another order can be checked to name one of them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, NamedTuple

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared import events
from shared.messages import FOUNDATION_MAX_LENGTH
from shared.states import ApiVersion, EventKind

CcInt = Annotated[int, Field(strict=True, ge=0, le=events.MAX_CC_INTEGER)]
EventGuid = Annotated[str, Field(min_length=36, max_length=36)]
RefGuid = Annotated[str, Field(max_length=events.MAX_GUID_LENGTH)]
InstanceGuid = Annotated[str, Field(min_length=1, max_length=events.MAX_GUID_LENGTH)]
Name = Annotated[str, Field(max_length=events.MAX_NAME_LENGTH)]
BuildpackName = Annotated[str, Field(max_length=events.MAX_BUILDPACK_NAME_LENGTH)]
State = Annotated[str, Field(min_length=1, max_length=events.MAX_STATE_LENGTH)]
PreviousState = Annotated[str, Field(max_length=events.MAX_STATE_LENGTH)]


class Decided(NamedTuple):
    """What the old decoder made of a document: the result, or the reason and the fields."""

    accepted: bool
    result: Any
    reason: str
    fields: frozenset[str]


class UsageEventMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    foundation: str = Field(min_length=1, max_length=FOUNDATION_MAX_LENGTH)
    kind: EventKind
    api_version: ApiVersion
    sequence: int = Field(ge=1)
    guid: str
    resource: dict[str, Any]


class _Shape(BaseModel):
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
    guid: InstanceGuid
    name: Name | None = None
    type: Name | None = None


class V3AppResource(_Time):
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
    guid: EventGuid
    state: State
    service_instance: ServiceInstance
    space: Named | None = None
    organization: Named | None = None
    service_plan: Named | None = None
    service_offering: Named | None = None
    service_broker: Named | None = None


def _fields(exc: ValidationError, prefix: str = "") -> frozenset[str]:
    """Where each error is, named as the product names fields: `a.b`, `items[0].c`."""
    return frozenset(prefix + _path(e["loc"]) for e in exc.errors())


def _path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path


def _refused(reason: str, *fields: str) -> Decided:
    return Decided(False, None, reason, frozenset(fields))


def decide_body(body: bytes) -> Decided:
    """The old consumer's models path: orjson, the message model, then the resource models.

    (The old msgspec fast path took a subset of what this takes, and made the same events,
    save numbers beyond 64 bits or a float's range, which that path kept and this one
    could not read.)
    """
    if len(body) > events.MAX_BODY_BYTES:
        return _refused("body: too large", "body")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return _refused(f"body: not valid JSON: {exc}", "body")
    try:
        message = UsageEventMessage.model_validate(payload)
    except ValidationError as exc:
        return Decided(False, None, str(exc), _fields(exc) | {"body"} - {""})
    resource = message.resource
    try:
        if message.api_version is ApiVersion.V2:
            if "entity" not in resource or "metadata" not in resource:
                missing = "entity" if "entity" not in resource else "metadata"
                return _refused(f"{missing}: missing", "entity", "metadata")
            try:
                metadata = V2Metadata.model_validate(resource["metadata"])
            except ValidationError as exc:
                return Decided(False, None, str(exc), _fields(exc, "metadata.") | {"metadata"})
            entity = resource["entity"]
            if not isinstance(entity, dict):
                return _refused("entity: expected an object", "entity")
            model: type[BaseModel] = (
                V2AppEntity if message.kind is EventKind.APP else V2ServiceEntity
            )
            model.model_validate(entity)
            guid, created_at, raw = metadata.guid, metadata.created_at, entity
        else:
            model = V3AppResource if message.kind is EventKind.APP else V3ServiceResource
            valid: Any = model.model_validate(resource)
            guid, created_at, raw = valid.guid, valid.created_at, resource
    except ValidationError as exc:
        return Decided(False, None, str(exc), _fields(exc) | {"resource", "entity"})
    if guid != message.guid:
        return _refused("guid: differs", "guid")
    text = orjson.dumps(raw)
    if b"\\u0000" in text:
        return _refused("a NUL", "NUL")
    if len(text) > events.MAX_RAW_MESSAGE_BYTES:
        return _refused("raw_message: too large", "raw_message")
    stored = events.StoredEvent(
        message.kind,
        message.foundation,
        message.api_version,
        message.sequence,
        guid,
        created_at,
        text.decode(),
    )
    return Decided(True, stored, "", frozenset())


class V2Page(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    total_results: int | None = None
    resources: list[dict[str, Any]]


class V3Page(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    pagination: dict[str, Any] | None = None
    resources: list[dict[str, Any]]


class PageV2Metadata(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    guid: str = Field(min_length=1, max_length=255)
    created_at: object = None


class PageV2Resource(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    metadata: PageV2Metadata
    entity: dict[str, Any]


class PageV3Resource(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    guid: str = Field(min_length=1, max_length=255)
    created_at: object = None


class PageEvent(NamedTuple):
    """An event of a page as the old producer made it (its resource as a JSON value)."""

    guid: str
    created_at_text: object
    resource: Any
    reseed_shaped: bool


def page_resource(version: ApiVersion, raw: Any) -> Decided:
    """The old producer's models reading of one resource (a page's, or `GET .../:guid`)."""
    if not isinstance(raw, dict):
        return _refused("resource: expected an object", "resource")
    try:
        if version is ApiVersion.V2:
            meta = PageV2Resource.model_validate(raw).metadata
            entity = raw["entity"]
            reseed = meta.guid in (entity.get("app_guid"), entity.get("service_instance_guid"))
            event = PageEvent(meta.guid, meta.created_at, raw, reseed)
        else:
            head = PageV3Resource.model_validate(raw)
            owners = (raw.get("process"), raw.get("service_instance"))
            reseed = any(isinstance(o, dict) and o.get("guid") == head.guid for o in owners)
            event = PageEvent(head.guid, head.created_at, raw, reseed)
    except ValidationError as exc:
        return Decided(False, None, str(exc), _fields(exc))
    return Decided(True, event, "", frozenset())


def decide_page(version: ApiVersion, body: bytes) -> Decided:
    """The old producer's models path over a whole page: orjson, the page and resource models."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return _refused(f"not valid JSON: {exc}", "page")
    try:
        page = (V2Page if version is ApiVersion.V2 else V3Page).model_validate(data)
    except ValidationError as exc:
        # The envelope was checked before any resource; a decoder that reads the resources
        # one by one names the first one's error instead: the fields of every error count.
        fields = _fields(exc) | {"page"}
        resources = data.get("resources") if isinstance(data, dict) else None
        for index, raw in enumerate(resources if isinstance(resources, list) else []):
            fields |= {f"resources[{index}].{f}" for f in page_resource(version, raw).fields}
            fields |= {f"resources[{index}]"}
        return Decided(False, None, str(exc), fields)
    found = []
    for index, raw in enumerate(page.resources):
        decided = page_resource(version, raw)
        if not decided.accepted:
            fields = frozenset(f"resources[{index}].{field}" for field in decided.fields)
            return Decided(False, None, decided.reason, fields | {f"resources[{index}]"})
        found.append(decided.result)
    return Decided(True, found, "", frozenset())
