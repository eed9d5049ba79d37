"""CF usage-event list pages (v2 and v3): frozen models of what the API returns, and events.

Only the fields the producer needs are modelled; each resource is kept exactly as received,
because that is what gets published.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared import errors
from shared.states import ApiVersion

# Longest event guid accepted: the API's are 36-character UUIDs; anything non-empty is taken.
GUID_MAX_LENGTH = 255
_GUID = Field(min_length=1, max_length=GUID_MAX_LENGTH)


class FetchedEvent(NamedTuple):
    """One event of a page: its guid, its time (None when unparseable) and the raw resource.

    A NamedTuple rather than a frozen dataclass: one is built per event, in half the time.
    """

    guid: str
    created_at: datetime | None
    created_at_text: object
    resource: dict[str, Any]


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


def parse_page(version: ApiVersion, body: bytes) -> list[FetchedEvent]:
    """The events of a list page in API order; raise CloudFoundryUnavailable when malformed."""
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


def is_reseed_shaped(version: ApiVersion, event: FetchedEvent) -> bool:
    """A purge-and-reseed row: its guid is its process's (app) or service instance's guid.

    A later purge re-emits such a guid at another place in the table (CF API spec §5.3).
    """
    resource = event.resource
    if version is ApiVersion.V2:
        entity = resource.get("entity")
        if not isinstance(entity, dict):
            return False
        return event.guid in (entity.get("app_guid"), entity.get("service_instance_guid"))
    for key in ("process", "service_instance"):
        owner = resource.get(key)
        if isinstance(owner, dict) and owner.get("guid") == event.guid:
            return True
    return False


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
            created = meta.get("created_at")
            return FetchedEvent(guid, parse_time(created), created, raw)
    head = V2Resource.model_validate(raw).metadata
    return FetchedEvent(head.guid, parse_time(head.created_at), head.created_at, raw)


def _v3_event(raw: dict[str, Any]) -> FetchedEvent:
    """The event of a v3 resource: read directly when plainly valid, else by the model."""
    guid = raw.get("guid")
    if type(guid) is str and 0 < len(guid) <= GUID_MAX_LENGTH:
        created = raw.get("created_at")
        return FetchedEvent(guid, parse_time(created), created, raw)
    head = V3Resource.model_validate(raw)
    return FetchedEvent(head.guid, parse_time(head.created_at), head.created_at, raw)
