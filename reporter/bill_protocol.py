"""Bill request and reply bodies (CONTRACT "Bill requests"), beside the report's `protocol`.

A request with `"type": "bill"` on the report queue asks for a bill; without `type`, or with
`"usage"`, for a usage report (`parse` tells them apart). The window and filters are checked
exactly as a report request's (`protocol.parse_time`, `protocol.parse_filter`): anything wrong
is `InvalidRequest` naming the field and the value.

Every amount is a `Decimal`, serialised as a plain decimal string (`"12.3456789012"`, never an
exponent, never a JSON number), and read back only from such a string: a float never holds one.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, model_serializer

from reporter import protocol
from shared import errors, pricing


class RequestType(StrEnum):
    """What a request on the report queue asks for."""

    USAGE = "usage"
    BILL = "bill"


def _amount(value: object) -> Decimal:
    """An amount read back from a reply: a decimal string only."""
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str):
        raise ValueError(f"an amount must be a decimal string, got {value!r}")
    try:
        return Decimal(value)
    except ArithmeticError:
        raise ValueError(f"{value!r} is not a decimal amount") from None


# Money: a Decimal in, a plain decimal string out.
Amount = Annotated[
    Decimal, PlainValidator(_amount), PlainSerializer(pricing.decimal_text, return_type=str)
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class BillRequest(_Frozen):
    """A validated bill request: the window [from, to) and optional filters."""

    from_: datetime = Field(alias="from")
    to: datetime
    org_guids: tuple[str, ...] | None = None
    space_guids: tuple[str, ...] | None = None
    foundations: tuple[str, ...] | None = None


def request_type(data: dict[str, Any]) -> RequestType:
    """`usage` when `type` is absent, null or "usage"; `bill` for "bill"; else InvalidRequest."""
    value = data.get("type")
    if value is None or value == RequestType.USAGE.value:
        return RequestType.USAGE
    if value == RequestType.BILL.value:
        return RequestType.BILL
    raise errors.InvalidRequest(f"type must be usage or bill; got {_show(value)}", "type")


def parse(body: bytes) -> protocol.ReportRequest | BillRequest:
    """A report or a bill request, as its `type` says; InvalidRequest naming the field."""
    data = _object(body)
    if request_type(data) is RequestType.BILL:
        return bill_request(data)
    return protocol.parse_request(body)


def bill_request(data: dict[str, Any]) -> BillRequest:
    """A bill request from a decoded body; InvalidRequest naming the field and the value."""
    start = protocol.parse_time(data, "from")
    end = protocol.parse_time(data, "to")
    if start >= end:
        raise errors.InvalidRequest(
            f"from ({data['from']}) must be earlier than to ({data['to']})", "from"
        )
    filters = {name: protocol.parse_filter(data, name) for name in protocol.FILTER_FIELDS}
    return BillRequest(from_=start, to=end, **filters)


def _object(body: bytes) -> dict[str, Any]:
    if len(body) > protocol.MAX_BODY_BYTES:
        raise errors.InvalidRequest(
            f"request body is {len(body)} bytes, more than the {protocol.MAX_BODY_BYTES} accepted"
        )
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise errors.InvalidRequest(f"request body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise errors.InvalidRequest(
            f"request body must be a JSON object, got {type(data).__name__}"
        )
    return data


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class BillLine(_Frozen):
    """One resource's (and service plan's) component: its unrounded amounts."""

    resource_type: str
    resource_guid: str
    resource_name: str | None
    foundation: str
    space_guid: str | None
    space_name: str | None = None
    service_plan_guid: str | None
    plan_name: str
    component: str
    vat_code: str
    ex_vat: Amount
    vat: Amount


class Figures(_Frozen):
    """Amounts rounded half up to 2 places: inc_vat = ex_vat + vat."""

    ex_vat: Amount
    vat: Amount
    inc_vat: Amount


class BillOrg(_Frozen):
    """An org's lines and figures (the sums of its lines' amounts, each rounded)."""

    org_guid: str | None
    lines: tuple[BillLine, ...]
    ex_vat: Amount
    vat: Amount
    inc_vat: Amount


class BillWarning(_Frozen):
    """What may make the bill incomplete: a collection gap, a window before the history, usage
    priced 0 (`no_plan`, `formula_failed`). Fields that do not apply are left out."""

    code: str
    message: str
    foundation: str | None = None
    kind: str | None = None
    resource_type: str | None = None
    service_plan_guid: str | None = None
    plan_name: str | None = None
    component: str | None = None
    resources: int | None = None
    from_: datetime | None = Field(default=None, alias="from")
    to: datetime | None = None

    @model_serializer(mode="wrap")
    def _without_nones(self, handler: Any) -> dict[str, Any]:
        shown: dict[str, Any] = handler(self)
        keep = {"service_plan_guid"} if self.code == "no_plan" else set()
        return {k: v for k, v in shown.items() if v is not None or k in keep}


class Closed(_Frozen):
    """A closed month's bill: when it was closed, and whether computing it now would differ."""

    closed_at: datetime
    differs_now: bool


class Bill(_Frozen):
    """A bill: the orgs with lines, the totals of the orgs' rounded figures, the warnings."""

    from_: datetime = Field(alias="from")
    to: datetime
    generated_at: datetime
    currency: str | None  # None only before any pricing was applied: nothing is priced then
    orgs: tuple[BillOrg, ...]
    totals: Figures
    warnings: tuple[BillWarning, ...] = ()
    closed: Closed | None = None


class BillReply(_Frozen):
    """A reply carrying a bill."""

    status: Literal["ok"] = "ok"
    bill: Bill


def to_body(reply: BillReply | protocol.ErrorReply) -> bytes:
    """The JSON body of a reply: aliases such as `from`, amounts as strings, no floats."""
    if isinstance(reply, protocol.ErrorReply):
        return protocol.to_body(reply)
    return orjson.dumps(reply.model_dump(mode="json", by_alias=True))
