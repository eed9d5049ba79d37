"""From priced lines to a bill's reply body (CONTRACT "Bill requests"): orgs, rounding, totals.

`attribute` names each line of the engine's result (`billing.Priced`) with its resource's org,
space and name (what the caller read from the resource's latest event before `to`) and keeps
the lines the request's filters allow; `assemble` groups lines per org and rounds:

    org ex_vat = sum of its lines' ex_vat, rounded half up to 2 places; org vat likewise;
    org inc_vat = org ex_vat + org vat; totals = sums of the orgs' rounded figures

so that every bill adds up. A closed month's stored lines go through `assemble` too.

A bill has a line per resource and component: a hundred thousand and more for a busy
platform's month. Lines are therefore plain dicts shaped as the reply (`LineBody`), not
models: a dict of strings and Decimals costs a fraction of a pydantic model to build and is
never walked by the cyclic garbage collector. `bill_protocol`'s models remain the schema:
tests hold `reply_body` to what they validate and serialise.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple, TypedDict

import orjson

from reporter import bill_protocol, billing
from shared import formula, pricing

# Two decimal places: what org figures and totals are rounded to.
CENT = Decimal("0.01")
# A resource as the engine keys it: resource_type, foundation, resource_guid, service_plan_guid.
ResourceKey = tuple[str, str, str, str | None]


class Attribution(NamedTuple):
    """Who a resource belongs to and what it is called (its latest event before `to`)."""

    org_guid: str | None
    space_guid: str | None
    resource_name: str | None
    space_name: str | None = None


class Filters(NamedTuple):
    """A request's filters; None lets everything through."""

    org_guids: tuple[str, ...] | None = None
    space_guids: tuple[str, ...] | None = None
    foundations: tuple[str, ...] | None = None

    def allow(self, org: str | None, space: str | None, foundation: str) -> bool:
        return (
            (not self.org_guids or org in self.org_guids)
            and (not self.space_guids or space in self.space_guids)
            and (not self.foundations or foundation in self.foundations)
        )


class LineBody(TypedDict):
    """A bill line as the reply has it (bill_protocol.BillLine), amounts still Decimals."""

    resource_type: str
    resource_guid: str
    resource_name: str | None
    foundation: str
    space_guid: str | None
    space_name: str | None
    service_plan_guid: str | None
    plan_name: str
    component: str
    vat_code: str
    ex_vat: Decimal
    vat: Decimal


class OrgBody(TypedDict):
    """An org of the reply (bill_protocol.BillOrg), amounts still Decimals."""

    org_guid: str | None
    lines: list[LineBody]
    ex_vat: Decimal
    vat: Decimal
    inc_vat: Decimal


# A bill line and the org it belongs to.
OrgLine = tuple[str | None, LineBody]
# The bill object of a reply (bill_protocol.Bill), amounts still Decimals.
BillBody = dict[str, Any]
# Known nothing about a resource: no org, space or name.
_UNKNOWN = Attribution(None, None, None)


def attribute(
    priced: billing.Priced, attributions: Mapping[ResourceKey, Attribution], filters: Filters
) -> Iterator[OrgLine]:
    """Each line the filters allow, with its org, space and names."""
    for key, line in priced.lines.items():
        resource_type, foundation, guid, service_plan_guid, component = key
        who = attributions.get((resource_type, foundation, guid, service_plan_guid), _UNKNOWN)
        if not filters.allow(who.org_guid, who.space_guid, foundation):
            continue
        body: LineBody = {
            "resource_type": resource_type,
            "resource_guid": guid,
            "resource_name": who.resource_name,
            "foundation": foundation,
            "space_guid": who.space_guid,
            "space_name": who.space_name,
            "service_plan_guid": service_plan_guid,
            "plan_name": line.plan_name,
            "component": component,
            "vat_code": line.vat_code,
            "ex_vat": line.ex_vat,
            "vat": line.vat,
        }
        yield who.org_guid, body


def assemble(
    lines: Iterable[OrgLine],
    *,
    start: datetime,
    end: datetime,
    generated_at: datetime,
    currency: str | None,
    warnings: Iterable[bill_protocol.BillWarning] = (),
    closed: bill_protocol.Closed | None = None,
) -> BillBody:
    """The bill: orgs in guid order (an org without a known guid last), lines in a stable
    order, figures rounded, totals that add up."""
    context = formula.new_context()
    per_org: dict[str | None, list[LineBody]] = {}
    for org, line in lines:
        per_org.setdefault(org, []).append(line)
    orgs: list[OrgBody] = []
    for org in sorted(per_org, key=lambda o: (o is None, o or "")):
        org_lines = sorted(per_org[org], key=_line_order)
        ex_vat = _rounded(_sum(context, [line["ex_vat"] for line in org_lines]), context)
        vat = _rounded(_sum(context, [line["vat"] for line in org_lines]), context)
        inc_vat = context.add(ex_vat, vat)
        orgs.append(
            {"org_guid": org, "lines": org_lines, "ex_vat": ex_vat, "vat": vat, "inc_vat": inc_vat}
        )
    # Sums of 2-place figures: rounding them changes nothing but the look of an empty bill.
    total_ex_vat = _rounded(_sum(context, [org["ex_vat"] for org in orgs]), context)
    total_vat = _rounded(_sum(context, [org["vat"] for org in orgs]), context)
    return {
        "from": _time_text(start),
        "to": _time_text(end),
        "generated_at": _time_text(generated_at),
        "currency": currency,
        "orgs": orgs,
        "totals": {
            "ex_vat": total_ex_vat,
            "vat": total_vat,
            "inc_vat": context.add(total_ex_vat, total_vat),
        },
        "warnings": [w.model_dump(mode="json", by_alias=True) for w in warnings],
        "closed": None if closed is None else closed.model_dump(mode="json"),
    }


def reply_body(bill: BillBody) -> bytes:
    """The JSON body of a successful bill reply: amounts as plain decimal strings."""
    return orjson.dumps({"status": "ok", "bill": bill}, default=_amount_text)


def bill_body(bill: BillBody) -> bytes:
    """The bill object alone as JSON (the HTTP API's body), amounts as in `reply_body`."""
    return orjson.dumps(bill, default=_amount_text)


def _amount_text(value: object) -> str:
    if isinstance(value, Decimal):
        return pricing.decimal_text(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable in a bill")


def _time_text(moment: datetime) -> str:
    """As pydantic writes a datetime in JSON: ISO 8601, `Z` for UTC, other offsets kept."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _line_order(line: LineBody) -> tuple[str, ...]:
    return (
        line["space_guid"] or "",
        line["resource_type"],
        line["foundation"],
        line["resource_guid"],
        line["service_plan_guid"] or "",
        line["component"],
    )


def _sum(context: decimal.Context, amounts: list[Decimal]) -> Decimal:
    total = Decimal(0)
    for amount in amounts:
        total = context.add(total, amount)
    return total


def _rounded(amount: Decimal, context: decimal.Context) -> Decimal:
    """Half up (away from zero at .5) to 2 places: 0.125 -> 0.13, -0.125 -> -0.13."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP, context=context)
