"""CF usage-event list pages (v2 and v3): the events, each with its resource's JSON bytes.

One msgspec schema per page shape, read in C: the resources stay slices of the page's own
bytes (published as the API sent them), and only what the producer needs of each is
decoded: its guid, its time, and its owner's guid (for the reseed rule below). A page that
does not fit is refused with CloudFoundryUnavailable naming the field and the value, and is
asked for again.

Bytes kept as the API sent them differ from a render only where JSON allows it: escapes stay
escapes, and a number beyond 64 bits or a float's range, in a field the producer does not
read, keeps its digits; the consumer decides such an event (it dead-letters what it cannot
store, with the reason). Bytes that are not UTF-8 and lone surrogates are refused. A page
laid out over lines is compacted first, so that messages carry no layout (spaces alone are
kept).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, NamedTuple

import msgspec

from shared import decoding, errors
from shared.states import ApiVersion

# Longest event guid accepted: the API's are 36-character UUIDs; anything non-empty is taken.
GUID_MAX_LENGTH = 255
_Guid = Annotated[str, msgspec.Meta(min_length=1, max_length=GUID_MAX_LENGTH)]
# Bytes that lay a JSON text out over lines (outside strings: JSON forbids them raw inside).
_LAYOUT = (b"\n", b"\r", b"\t")
# What msgspec.json.format raises on a body that is not JSON.
_FORMAT_ERRORS: tuple[type[Exception], ...] = (*decoding.ERRORS, ValueError)


class FetchedEvent(NamedTuple):
    """One event of a page: what the poller decides with, and what it publishes."""

    guid: str
    # Its time; None when unparseable or without an offset.
    created_at: datetime | None
    # The time as the API gave it (any JSON value), for the log.
    created_at_text: object
    # The resource's JSON as published: v2 `{"metadata", "entity"}`, v3 the resource.
    resource: msgspec.Raw
    # A purge-and-reseed row: its guid is its process's (app) or service instance's guid.
    # A later purge re-emits such a guid at another place in the table (CF API spec §5.3).
    # The database applies the same rule when it stores such a row (consumer/sql/writer.sql).
    reseed_shaped: bool


class _Object(msgspec.Struct, gc=False):
    """Any JSON object, its keys unread."""


class V2Page(msgspec.Struct, gc=False):
    """`GET /v2/*_usage_events`: an envelope with `resources`."""

    resources: list[msgspec.Raw]
    total_results: int | None = None


class V3Page(msgspec.Struct, gc=False):
    """`GET /v3/*_usage_events`: `pagination` and `resources`."""

    resources: list[msgspec.Raw]
    pagination: _Object | None = None


class V2Metadata(msgspec.Struct, gc=False):
    guid: _Guid
    # Any JSON value: one that is no time is published all the same (see poller).
    created_at: Any = None


class V2Entity(msgspec.Struct, gc=False):
    """The entity is read only for the reseed rule; any object is taken."""

    app_guid: Any = None
    service_instance_guid: Any = None


class V2Resource(msgspec.Struct, gc=False):
    metadata: V2Metadata
    entity: V2Entity


class V3Resource(msgspec.Struct, gc=False):
    guid: _Guid
    created_at: Any = None
    # The owners are read only for the reseed rule: any JSON value is taken.
    process: Any = None
    service_instance: Any = None


class ErrorBody(msgspec.Struct, gc=False):
    """The fields of a v2 (`error_code`, `description`) or v3 (`errors[]`) error body."""

    error_code: str | None = None
    description: str | None = None
    errors: list[dict[str, Any]] = msgspec.field(default_factory=list)

    def text(self) -> str:
        """One line describing the error, as the API put it."""
        if self.errors:
            first = self.errors[0]
            return f"{first.get('title', '')}: {first.get('detail', '')}".strip(": ")
        return f"{self.error_code or ''}: {self.description or ''}".strip(": ")


_PAGES: dict[ApiVersion, msgspec.json.Decoder[Any]] = {
    ApiVersion.V2: msgspec.json.Decoder(V2Page),
    ApiVersion.V3: msgspec.json.Decoder(V3Page),
}
# A v2 page's total_results, read leniently when it is no integer (see shared.decoding).
_LENIENT = {ApiVersion.V2: {"total_results": decoding.integer(optional=True)}, ApiVersion.V3: {}}
_V2_RESOURCE = msgspec.json.Decoder(V2Resource)
_V3_RESOURCE = msgspec.json.Decoder(V3Resource)
_ERROR_BODY = msgspec.json.Decoder(ErrorBody)


def parse_page(version: ApiVersion, body: bytes) -> list[FetchedEvent]:
    """The events of a list page in API order; raise CloudFoundryUnavailable when malformed."""
    try:
        body = _compact(body)
        try:
            resources = _PAGES[version].decode(body).resources
        except decoding.ERRORS:
            resources = decoding.decode(_PAGES[version], body, "page", _LENIENT[version]).resources
        return [_event(version, raw, f"resources[{i}]") for i, raw in enumerate(resources)]
    except decoding.Refused as exc:
        raise errors.CloudFoundryUnavailable(
            f"the API returned a malformed {version} page: {exc.reason}"
        ) from None


def parse_event(version: ApiVersion, body: bytes) -> FetchedEvent:
    """One event (`GET .../:guid`); raise CloudFoundryUnavailable when malformed."""
    try:
        return _event(version, msgspec.Raw(_compact(body)), "")
    except decoding.Refused as exc:
        raise errors.CloudFoundryUnavailable(
            f"the API returned a malformed {version} event: {exc.reason}"
        ) from None


def parse_error(body: bytes) -> ErrorBody:
    """The error body, or one holding the body's start when it is not the API's JSON."""
    try:
        return _ERROR_BODY.decode(body)
    except decoding.ERRORS:
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


def _event(version: ApiVersion, raw: msgspec.Raw, where: str) -> FetchedEvent:
    """The event of one resource; Refused naming the field (`where` the resource sits)."""
    try:
        if version is ApiVersion.V2:
            v2 = _V2_RESOURCE.decode(raw)
            guid, created = v2.metadata.guid, v2.metadata.created_at
            reseed = guid in (v2.entity.app_guid, v2.entity.service_instance_guid)
        else:
            v3 = _V3_RESOURCE.decode(raw)
            guid, created = v3.guid, v3.created_at
            reseed = _owned_by(guid, v3.process) or _owned_by(guid, v3.service_instance)
    except decoding.ERRORS as exc:
        prefix = f"{where}." if where else ""
        raise decoding.Refused(decoding.reason(exc, bytes(raw), where or "event", prefix)) from None
    return FetchedEvent(guid, parse_time(created), created, raw, reseed)


def _owned_by(guid: str, owner: Any) -> bool:
    return type(owner) is dict and owner.get("guid") == guid


def _compact(body: bytes) -> bytes:
    """The body without layout between tokens; Refused when it is not UTF-8 JSON."""
    if not body.isascii():
        try:
            body.decode()
        except UnicodeDecodeError as exc:
            raise decoding.Refused(f"not UTF-8: {exc}") from None
    if any(layout in body for layout in _LAYOUT):
        try:
            return msgspec.json.format(body, indent=-1)
        except _FORMAT_ERRORS as exc:
            raise decoding.Refused(f"not valid JSON: {exc}") from None
    return body
