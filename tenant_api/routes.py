"""The `/v1` handlers: thin, each behind one `dependencies.guard`.

A handler receives an `Allowed` request (token verified, query decoded, access decided) and
only computes. Adding `/v1/bills` or `/v1/pricing` is a decoder in `queries`, a guard with
its rule, and a handler of a few lines here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from reporter import protocol
from tenant_api import access, dependencies, problems, queries
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


@router.get(
    "/usage",
    summary="Usage report",
    description="The `report` object of a usage reply over the queue, for the window "
    "[from, to): rows per resource (or space, or org), totals and warnings.",
    responses={200: {"model": protocol.Report, "description": "The report."}},
)
def get_usage(
    request: Request, allowed: Annotated[Allowed[protocol.ReportRequest], Depends(USAGE)]
) -> Response:
    wanted = allowed.query.model_copy(update={"org_guids": allowed.decision.orgs})
    body = dependencies.services(request).reports.usage(wanted)
    return Response(body, media_type="application/json")
