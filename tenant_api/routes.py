"""The `/v1` handlers: thin, each behind one `dependencies.guard`.

A handler receives an `Allowed` request (token verified, query decoded, access decided) and
only computes. A new route is a decoder in `queries`, a guard with its rule, and a handler of
a few lines here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from reporter import bill_protocol, protocol
from tenant_api import access, dependencies, problems, queries, schemas
from tenant_api.dependencies import Allowed

router = APIRouter(prefix="/v1", responses=problems.V1_RESPONSES)

_ORG = "An org to report on; repeat for several. Required unless the token has a global read scope."


def usage_query(
    request: Request,
    from_: Annotated[
        str | None,
        Query(
            alias="from",
            description="Window start, RFC 3339 with offset (inclusive).",
            examples=["2026-10-01T00:00:00Z"],
        ),
    ] = None,
    to: Annotated[
        str | None,
        Query(
            description="Window end, RFC 3339 with offset (exclusive).",
            examples=["2026-11-01T00:00:00Z"],
        ),
    ] = None,
    org_guid: Annotated[list[str] | None, Query(description=_ORG)] = None,
    space_guid: Annotated[list[str] | None, Query(description="A space; repeatable.")] = None,
    foundation: Annotated[list[str] | None, Query(description="A foundation; repeatable.")] = None,
    group_by: Annotated[
        str | None,
        Query(description="resource (default), space or org.", examples=["org"]),
    ] = None,
) -> protocol.ReportRequest:
    """Decodes the query string itself (the parameters above are its documentation), so
    every error is the API's own 400 naming the parameter."""
    return queries.usage(queries.Params(tuple(request.query_params.multi_items())))


USAGE = dependencies.guard(access.Rule.ORG_SCOPED, usage_query)


def bills_query(
    request: Request,
    from_: Annotated[
        str | None,
        Query(
            alias="from",
            description="Window start, RFC 3339 with offset (inclusive).",
            examples=["2026-10-01T00:00:00Z"],
        ),
    ] = None,
    to: Annotated[
        str | None,
        Query(
            description="Window end, RFC 3339 with offset (exclusive).",
            examples=["2026-11-01T00:00:00Z"],
        ),
    ] = None,
    org_guid: Annotated[list[str] | None, Query(description=_ORG)] = None,
    space_guid: Annotated[list[str] | None, Query(description="A space; repeatable.")] = None,
    foundation: Annotated[list[str] | None, Query(description="A foundation; repeatable.")] = None,
) -> bill_protocol.BillRequest:
    """Decodes the query string itself, as `usage_query` does."""
    return queries.bills(queries.Params(tuple(request.query_params.multi_items())))


BILLS = dependencies.guard(access.Rule.ORG_SCOPED, bills_query)


def pricing_query(request: Request) -> None:
    """Takes no parameters."""
    queries.nothing(queries.Params(tuple(request.query_params.multi_items())))


PRICING = dependencies.guard(access.Rule.ANY_CALLER, pricing_query)


@router.get(
    "/usage",
    summary="Usage report",
    description="The `report` object of a usage reply over the queue, for the window "
    "[from, to): rows per resource (or space, or org), totals and warnings.",
    responses={200: {"description": "The report.", "content": schemas.content(protocol.Report)}},
)
def get_usage(
    request: Request, allowed: Annotated[Allowed[protocol.ReportRequest], Depends(USAGE)]
) -> Response:
    wanted = allowed.query.model_copy(update={"org_guids": allowed.decision.orgs})
    body = dependencies.services(request).reports.usage(wanted)
    return Response(body, media_type="application/json")


@router.get(
    "/bills",
    summary="Bill",
    description="The `bill` object of a bill reply over the queue, for the window [from, to): "
    "lines per resource, plan and component with unrounded amounts as decimal strings, org "
    "figures rounded half up to 2 places, totals, warnings, and for exactly a closed month "
    "`closed` with `differs_now`.",
    responses={200: {"model": bill_protocol.Bill, "description": "The bill."}},
)
def get_bills(
    request: Request, allowed: Annotated[Allowed[bill_protocol.BillRequest], Depends(BILLS)]
) -> Response:
    wanted = allowed.query.model_copy(update={"org_guids": allowed.decision.orgs})
    body = dependencies.services(request).reports.bill(wanted)
    return Response(body, media_type="application/json")


@router.get(
    "/pricing",
    summary="Pricing in force",
    description="The pricing in force as a pricing file (every version past and future), the "
    "applied file it came from, and the closed months. Any valid token may read it.",
)
def get_pricing(request: Request, _allowed: Annotated[Allowed[None], Depends(PRICING)]) -> Response:
    body = dependencies.services(request).reports.pricing()
    return Response(body, media_type="application/json")
