"""CF usage-event list pages (v2 and v3): the events, each with its resource's JSON bytes.

Only the fields the producer needs are read; each resource is kept as the API sent it,
because that is what gets published. A plainly valid page (the common case) is read with
msgspec: the resources stay slices of the page's own bytes, and only their guid, time and
owner are decoded, in C. Parsing every resource into dicts with orjson and rendering it
again cost several times as much, and the dicts kept the cyclic garbage collector busy. Any
other page goes through orjson and the pydantic models, which decide it and name what is
wrong; a property test holds the two paths to the same events.

Bytes kept as the API sent them differ from a render only where JSON allows it: escapes
stay escapes, and a number beyond 64 bits keeps its digits (orjson reads it as a float). A
number beyond a float's range, in a field the producer does not read, is forwarded where
orjson refused the whole page and the stream stalled on it; the consumer decides such an
event (it dead-letters what it cannot store, with the reason). Bytes that are not UTF-8 and
lone surrogates are refused as before. A page laid out over lines is compacted first, so
that messages carry no layout (spaces alone are kept).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import msgspec
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared import errors
from shared.states import ApiVersion

# Longest event guid accepted: the API's are 36-character UUIDs; anything non-empty is taken.
GUID_MAX_LENGTH = 255
_GUID = Field(min_length=1, max_length=GUID_MAX_LENGTH)
# Bytes that lay a JSON text out over lines (outside strings: JSON forbids them raw inside).
_LAYOUT = (b"\n", b"\r", b"\t")


class FetchedEvent(NamedTuple):
    """One event of a page.

    A NamedTuple rather than a frozen dataclass: one is built per event, in half the time.
    """

    guid: str
    # Its time; None when unparseable or without an offset.
    created_at: datetime | None
    # The time as the API gave it (any JSON value), for the log.
    created_at_text: object
    # The resource's JSON as published: v2 `{"metadata", "entity"}`, v3 the resource.
    resource: bytes
    # A purge-and-reseed row: its guid is its process's (app) or service instance's guid.
    # A later purge re-emits such a guid at another place in the table (CF API spec §5.3).
    reseed_shaped: bool


class V2Metadata(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    guid: str = _GUID
    created_at: object = None


class V2Resource(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    metadata: V2Metadata
    entity: dict[str, Any]


class V2Page(BaseModel):
    """`GET /v2/*_usage_events`: an envelope with `resources`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    total_results: int | None = None
    resources: list[dict[str, Any]]


class V3Resource(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    guid: str = _GUID
    created_at: object = None


class V3Page(BaseModel):
    """`GET /v3/*_usage_events`: `pagination` and `resources`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    pagination: dict[str, Any] | None = None
    resources: list[dict[str, Any]]


class ErrorBody(BaseModel):
    """The fields of a v2 (`error_code`, `description`) or v3 (`errors[]`) error body."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    error_code: str | None = None
    description: str | None = None
    errors: list[dict[str, Any]] = []

    def text(self) -> str:
        """One line describing the error, as the API put it."""
        if self.errors:
            first = self.errors[0]
            return f"{first.get('title', '')}: {first.get('detail', '')}".strip(": ")
        return f"{self.error_code or ''}: {self.description or ''}".strip(": ")


class _Owner(msgspec.Struct, gc=False):
    guid: str | None = None


class _V3Head(msgspec.Struct, gc=False):
    guid: str
    created_at: str | None = None
    process: _Owner | None = None
    service_instance: _Owner | None = None


class _V2MetadataHead(msgspec.Struct, gc=False):
    guid: str
    created_at: str | None = None


class _V2EntityHead(msgspec.Struct, gc=False):
    app_guid: str | None = None
    service_instance_guid: str | None = None


class _V2Head(msgspec.Struct, gc=False):
    metadata: _V2MetadataHead
    entity: _V2EntityHead


class _Object(msgspec.Struct, gc=False):
    """Any JSON object, its keys unread."""


class _V2Envelope(msgspec.Struct, gc=False):
    resources: list[msgspec.Raw]
    total_results: int | None = None


class _V3Envelope(msgspec.Struct, gc=False):
    resources: list[msgspec.Raw]
    pagination: _Object | None = None


_ENVELOPES: dict[ApiVersion, msgspec.json.Decoder[Any]] = {
    ApiVersion.V2: msgspec.json.Decoder(_V2Envelope),
    ApiVersion.V3: msgspec.json.Decoder(_V3Envelope),
}
_V2_HEAD = msgspec.json.Decoder(_V2Head)
_V3_HEAD = msgspec.json.Decoder(_V3Head)


def parse_page(version: ApiVersion, body: bytes) -> list[FetchedEvent]:
    """The events of a list page in API order; raise CloudFoundryUnavailable when malformed."""
    plain = _plain_page(version, body)
    if plain is not None:
        return plain
    try:
        data = orjson.loads(body)
        if version is ApiVersion.V2:
            return [_v2_event(r) for r in _resources(V2Page, data, "total_results", int)]
        return [_v3_event(r) for r in _resources(V3Page, data, "pagination", dict)]
    except (orjson.JSONDecodeError, ValidationError) as exc:
        raise errors.CloudFoundryUnavailable(
            f"the API returned a malformed {version} page: {str(exc).splitlines()[0]}"
        ) from None


def parse_event(version: ApiVersion, body: bytes) -> FetchedEvent:
    """One event (`GET .../:guid`); raise CloudFoundryUnavailable when malformed."""
    try:
        data = orjson.loads(body)
        if not isinstance(data, dict):
            raise ValueError(f"expected an object, got {type(data).__name__}")
        return _v2_event(data) if version is ApiVersion.V2 else _v3_event(data)
    except (orjson.JSONDecodeError, ValidationError, ValueError) as exc:
        raise errors.CloudFoundryUnavailable(
            f"the API returned a malformed {version} event: {str(exc).splitlines()[0]}"
        ) from None


def parse_error(body: bytes) -> ErrorBody:
    """The error body, or an empty one when the body is not the API's JSON."""
    try:
        return ErrorBody.model_validate(orjson.loads(body))
    except (orjson.JSONDecodeError, ValidationError):
        return ErrorBody(description=body[:200].decode("utf-8", "replace"))


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 time with an offset, or None (unparseable or without an offset)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _plain_page(version: ApiVersion, body: bytes) -> list[FetchedEvent] | None:
    """The events of a plainly valid page, its resources left as bytes; else None."""
    if not _is_utf8(body):
        return None
    try:
        if any(layout in body for layout in _LAYOUT):
            body = msgspec.json.format(body, indent=-1)
        resources = _ENVELOPES[version].decode(body).resources
        if version is ApiVersion.V2:
            return [_plain_v2(bytes(raw)) for raw in resources]
        return [_plain_v3(bytes(raw)) for raw in resources]
    except (msgspec.DecodeError, ValueError):  # a msgspec.ValidationError is a DecodeError
        return None


def _plain_v2(resource: bytes) -> FetchedEvent:
    head = _V2_HEAD.decode(resource)
    guid, created = head.metadata.guid, head.metadata.created_at
    if not 0 < len(guid) <= GUID_MAX_LENGTH:
        raise ValueError(f"guid of {len(guid)} characters")
    entity = head.entity
    reseed = guid in (entity.app_guid, entity.service_instance_guid)
    return FetchedEvent(guid, parse_time(created), created, resource, reseed)


def _plain_v3(resource: bytes) -> FetchedEvent:
    head = _V3_HEAD.decode(resource)
    guid, created = head.guid, head.created_at
    if not 0 < len(guid) <= GUID_MAX_LENGTH:
        raise ValueError(f"guid of {len(guid)} characters")
    owners = (head.process, head.service_instance)
    reseed = any(owner is not None and owner.guid == guid for owner in owners)
    return FetchedEvent(guid, parse_time(created), created, resource, reseed)


def _is_utf8(body: bytes) -> bool:
    if body.isascii():
        return True
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


def _resources(
    model: type[V2Page | V3Page], data: Any, other: str, other_type: type
) -> list[dict[str, Any]]:
    """The page's resources; validated by the model unless the envelope is plainly valid.

    `other` is the model's one other field (None or of `other_type` when plain). `data` is
    what orjson parsed, so every key is a str. Only what the model accepts with the same
    values is plain (a property test holds the two equal); anything else goes through the
    model, which says what is wrong.
    """
    if type(data) is dict:
        resources = data.get("resources")
        value = data.get(other)
        if (
            type(resources) is list
            and (value is None or type(value) is other_type)
            and all(type(resource) is dict for resource in resources)
        ):
            return resources
    return model.model_validate(data).resources


def _v2_event(raw: dict[str, Any]) -> FetchedEvent:
    """The event of a v2 resource: read directly when plainly valid, else by the model."""
    meta = raw.get("metadata")
    if type(meta) is dict and type(raw.get("entity")) is dict:
        guid = meta.get("guid")
        if type(guid) is str and 0 < len(guid) <= GUID_MAX_LENGTH:
            return _event(ApiVersion.V2, guid, meta.get("created_at"), raw)
    head = V2Resource.model_validate(raw).metadata
    return _event(ApiVersion.V2, head.guid, head.created_at, raw)


def _v3_event(raw: dict[str, Any]) -> FetchedEvent:
    """The event of a v3 resource: read directly when plainly valid, else by the model."""
    guid = raw.get("guid")
    if type(guid) is str and 0 < len(guid) <= GUID_MAX_LENGTH:
        return _event(ApiVersion.V3, guid, raw.get("created_at"), raw)
    head = V3Resource.model_validate(raw)
    return _event(ApiVersion.V3, head.guid, head.created_at, raw)


def _event(version: ApiVersion, guid: str, created: object, raw: dict[str, Any]) -> FetchedEvent:
    """The event of a resource that orjson parsed and a model or a plain check accepted."""
    return FetchedEvent(
        guid, parse_time(created), created, orjson.dumps(raw), _is_reseed_shaped(version, guid, raw)
    )


def _is_reseed_shaped(version: ApiVersion, guid: str, resource: dict[str, Any]) -> bool:
    if version is ApiVersion.V2:
        entity = resource.get("entity")
        if not isinstance(entity, dict):
            return False
        return guid in (entity.get("app_guid"), entity.get("service_instance_guid"))
    for key in ("process", "service_instance"):
        owner = resource.get(key)
        if isinstance(owner, dict) and owner.get("guid") == guid:
            return True
    return False
