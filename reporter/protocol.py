"""Report request and reply bodies (CONTRACT "Report requests over RabbitMQ").

A request is parsed and validated here; anything wrong becomes `InvalidRequest` naming the
field and the value. Unknown request fields are ignored, so older reporters accept requests
from newer clients. Replies are frozen models serialised with `to_body`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

import msgspec
import orjson
from pydantic import BaseModel, ConfigDict, Field

from shared import errors

# Largest request body accepted: bigger bodies get `invalid_request`, never parsing.
MAX_BODY_BYTES = 1024 * 1024
# Most items a filter list may hold.
MAX_FILTER_ITEMS = 1000
# Longest string a filter item may be (guids are 36, foundation names at most 64).
MAX_FILTER_ITEM_LENGTH = 100
# RFC 3339 date-time with a mandatory offset; up to microsecond precision.
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$"
)
# Largest UTC offset PostgreSQL accepts in a timestamptz literal.
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)
# Filter fields of a request, in the order they are checked.
FILTER_FIELDS = ("org_guids", "space_guids", "foundations")


class GroupBy(StrEnum):
    """How report rows are grouped."""

    RESOURCE = "resource"
    SPACE = "space"
    ORG = "org"


class ErrorCode(StrEnum):
    """Error reply codes."""

    INVALID_REQUEST = "invalid_request"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal_error"
    # The reply would be larger than the broker accepts: narrow the request.
    REPORT_TOO_LARGE = "report_too_large"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class ReportRequest(_Frozen):
    """A validated report request: the window [from, to) and optional filters."""

    from_: datetime = Field(alias="from")
    to: datetime
    group_by: GroupBy = GroupBy.RESOURCE
    org_guids: tuple[str, ...] | None = None
    space_guids: tuple[str, ...] | None = None
    foundations: tuple[str, ...] | None = None


def parse_request(body: bytes) -> ReportRequest:
    """Parse a request body; raise InvalidRequest naming the field and the bad value."""
    if len(body) > MAX_BODY_BYTES:
        raise errors.InvalidRequest(
            f"request body is {len(body)} bytes, more than the {MAX_BODY_BYTES} accepted"
        )
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise errors.InvalidRequest(f"request body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise errors.InvalidRequest(
            f"request body must be a JSON object, got {type(data).__name__}"
        )
    start = parse_time(data, "from")
    end = parse_time(data, "to")
    if start >= end:
        raise errors.InvalidRequest(
            f"from ({data['from']}) must be earlier than to ({data['to']})", "from"
        )
    group_by = data.get("group_by", GroupBy.RESOURCE.value)
    if group_by is None:
        group_by = GroupBy.RESOURCE.value
    if not isinstance(group_by, str) or group_by not in set(GroupBy):
        raise errors.InvalidRequest(
            f"group_by must be one of resource, space, org; got {_show(group_by)}", "group_by"
        )
    filters = {name: parse_filter(data, name) for name in FILTER_FIELDS}
    return ReportRequest(from_=start, to=end, group_by=GroupBy(group_by), **filters)


def parse_time(data: dict[str, Any], name: str) -> datetime:
    """An RFC 3339 time with an offset from `data[name]`."""
    if name not in data or data[name] is None:
        raise errors.InvalidRequest(f"{name} is required (an RFC 3339 time with offset)", name)
    value = data[name]
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise errors.InvalidRequest(
            f"{name} must be an RFC 3339 time with an offset such as "
            f"2026-10-01T00:00:00Z; got {_show(value)}",
            name,
        )
    try:
        moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        moment.astimezone(UTC)  # the instant must exist in UTC too (year 1 to 9999)
    except (ValueError, OverflowError):
        raise errors.InvalidRequest(f"{name} is not a valid time: {_show(value)}", name) from None
    offset = moment.utcoffset()
    if offset is None or abs(offset) > MAX_UTC_OFFSET:
        raise errors.InvalidRequest(
            f"{name} has an offset beyond +/-15:59, which PostgreSQL refuses: {_show(value)}",
            name,
        )
    return moment


def parse_filter(data: dict[str, Any], name: str) -> tuple[str, ...] | None:
    """An optional list of non-empty strings; absent, null or empty means no filter."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, list):
        raise errors.InvalidRequest(f"{name} must be a list of strings; got {_show(value)}", name)
    if len(value) > MAX_FILTER_ITEMS:
        raise errors.InvalidRequest(
            f"{name} holds {len(value)} items, more than the {MAX_FILTER_ITEMS} accepted", name
        )
    for item in value:
        if not isinstance(item, str) or not 0 < len(item) <= MAX_FILTER_ITEM_LENGTH:
            raise errors.InvalidRequest(
                f"{name} items must be strings of 1 to {MAX_FILTER_ITEM_LENGTH} characters; "
                f"got {_show(item)}",
                name,
            )
        if "\x00" in item:
            # PostgreSQL text cannot hold NUL: the query would fail, not the request.
            raise errors.InvalidRequest(
                f"{name} items must not contain NUL (\\x00) characters; got {_show(item)}", name
            )
    return tuple(value) or None


def _show(value: Any) -> str:
    """A bad value for an error message, cut short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# The reply side is msgspec, not pydantic: an all-orgs month of a busy platform is a hundred
# and sixty thousand rows, which pydantic took 1.4 s to build and serialise and msgspec takes
# 0.14 s (BENCHMARKS.md, "Usage report"). The request side stays the hand-written checks above
# and the pydantic ReportRequest. Replies are built from the reporters' own values, never
# decoded from outside, so the structs check nothing on construction.


class Totals(msgspec.Struct, frozen=True, kw_only=True):
    """Column sums over the rows."""

    memory_gb_hours: float
    instance_hours: float
    service_hours: float


class AppRow(msgspec.Struct, frozen=True, kw_only=True):
    """One process (`app`), task (`task`) or app's staging (`staging`)."""

    resource_type: Literal["app", "task", "staging"]
    resource_guid: str
    resource_name: str | None
    foundation: str
    org_guid: str | None
    space_guid: str | None
    space_name: str | None
    parent_app_guid: str | None
    process_type: str | None
    memory_gb_hours: float
    instance_hours: float
    service_hours: float


class ServiceRow(msgspec.Struct, frozen=True, kw_only=True):
    """One managed service instance on one plan."""

    resource_type: Literal["service"]
    resource_guid: str
    resource_name: str | None
    foundation: str
    org_guid: str | None
    space_guid: str | None
    space_name: str | None
    service_plan_guid: str | None
    service_plan_name: str | None
    service_label: str | None
    memory_gb_hours: float
    instance_hours: float
    service_hours: float


class SpaceRow(msgspec.Struct, frozen=True, kw_only=True):
    """The sums of one resource type in one space."""

    resource_type: str
    foundation: str
    org_guid: str | None
    space_guid: str | None
    # The name its resources' latest events give the space (the most common, if renamed).
    space_name: str | None = None
    memory_gb_hours: float
    instance_hours: float
    service_hours: float


class OrgRow(msgspec.Struct, frozen=True, kw_only=True):
    """The sums of one resource type in one org."""

    resource_type: str
    foundation: str
    org_guid: str | None
    memory_gb_hours: float
    instance_hours: float
    service_hours: float


Row = AppRow | ServiceRow | SpaceRow | OrgRow


class ReportWarning(msgspec.Struct, frozen=True, kw_only=True):
    """Something that makes the report possibly incomplete."""

    code: str
    message: str
    foundation: str
    kind: str
    from_: datetime | None = msgspec.field(name="from")
    to: datetime | None


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """A successful report."""

    from_: datetime = msgspec.field(name="from")
    to: datetime
    generated_at: datetime
    group_by: GroupBy
    rows: tuple[Row, ...]
    totals: Totals
    warnings: tuple[ReportWarning, ...] = ()


class ErrorDetail(msgspec.Struct, frozen=True, kw_only=True):
    """What went wrong: a code, a message, the field at fault (if any)."""

    code: ErrorCode
    message: str
    field: str | None = None


class OkReply(msgspec.Struct, frozen=True, kw_only=True):
    """A reply carrying a report."""

    report: Report
    status: Literal["ok"] = "ok"


class ErrorReply(msgspec.Struct, frozen=True, kw_only=True):
    """A reply carrying an error."""

    error: ErrorDetail
    status: Literal["error"] = "error"


Reply = OkReply | ErrorReply
# One encoder for every reply (msgspec reuses its buffer).
_ENCODER = msgspec.json.Encoder()


def to_body(reply: Reply) -> bytes:
    """The JSON body of a reply (`from` for `from_`)."""
    return _ENCODER.encode(reply)


def report_body(report: Report) -> bytes:
    """The report object alone as JSON (the HTTP API's body)."""
    return _ENCODER.encode(report)


def error_reply(code: ErrorCode, message: str, field: str | None = None) -> ErrorReply:
    """An error reply."""
    return ErrorReply(error=ErrorDetail(code=code, message=message, field=field))
