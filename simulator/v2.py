"""The v2 usage-event endpoints (CF API spec §3)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson

from simulator import access, cferrors, render
from simulator.exchange import V2_JSON, Request, Response
from simulator.platform import Platform
from simulator.rows import AppRow, ServiceRow
from simulator.store import Table, UnknownGuid
from simulator.uaa import Grant

# Page size limits: app events use the large renderer, service events the default one.
APP_MAX_PER_PAGE = 10_000
SERVICE_MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 50
# Attributes `q` may filter service events on (app events have none).
SERVICE_Q_KEYS = ("service_instance_type", "service_guid")


@dataclass(frozen=True)
class Kind:
    path: str
    max_per_page: int
    auditor_may_list: bool
    table: Callable[[Platform], Table[Any]]
    render: Callable[[Any], dict[str, Any]]


APPS = Kind("/v2/app_usage_events", APP_MAX_PER_PAGE, False, lambda p: p.apps, render.v2_app)
SERVICES = Kind(
    "/v2/service_usage_events", SERVICE_MAX_PER_PAGE, True, lambda p: p.services, render.v2_service
)


def list_events(kind: Kind, request: Request, grant: Grant, platform: Platform) -> Response:
    if not access.reads_globally(grant, auditor=kind.auditor_may_list):
        return cferrors.v2(cferrors.INSUFFICIENT_SCOPE)
    params: dict[str, str] = {}
    queries: list[str] = []
    for key, value in request.query:
        if key == "q":
            queries.append(value)
        else:
            params[key] = value
    if "order-by" in params:
        return cferrors.v2(cferrors.ORDER_BY_INVALID, params["order-by"])
    try:
        page = int(params.get("page", "1"))
        per_page = int(params.get("results-per-page", str(DEFAULT_PER_PAGE)))
    except ValueError:
        return cferrors.v2(
            cferrors.BAD_QUERY_PARAMETER, "page and results-per-page must be integers"
        )
    if page < 1:
        return cferrors.v2(cferrors.BAD_QUERY_PARAMETER, "page must be > 0")
    if per_page < 1:
        return cferrors.v2(cferrors.BAD_QUERY_PARAMETER, "results_per_page must be > 0")
    if per_page > kind.max_per_page:
        return cferrors.v2(
            cferrors.BAD_QUERY_PARAMETER, f"results_per_page must be <= {kind.max_per_page}"
        )
    direction = params.get("order-direction", "asc")
    if direction not in ("asc", "desc"):
        return cferrors.v2(
            cferrors.BAD_QUERY_PARAMETER,
            f"order_direction must be 'asc' or 'desc' but was '{direction}'",
        )
    conditions = _conditions(kind, queries)
    if isinstance(conditions, Response):
        return conditions
    after = params.get("after_guid")
    table = kind.table(platform)
    offset = (page - 1) * per_page
    try:
        if conditions:
            rows = [r for r in table.scan(after) if _matches(r, conditions)]
            if direction == "desc":
                rows.reverse()
            total, rows = len(rows), rows[offset : offset + per_page]
        else:
            total, rows = table.page(after, offset, per_page, direction == "desc")
    except UnknownGuid:
        return cferrors.v2(cferrors.BAD_QUERY_PARAMETER, after)
    pages = math.ceil(total / per_page)

    def link(number: int) -> str:
        query = []
        if after is not None:
            query.append(("after_guid", after))
        query += [("order-direction", direction), ("page", str(number))]
        query += [("q", q) for q in queries]
        query.append(("results-per-page", str(per_page)))
        return kind.path + "?" + "&".join(f"{k}={quote(v, safe=':,')}" for k, v in query)

    envelope = {
        "total_results": total,
        "total_pages": pages,
        "prev_url": link(page - 1) if page > 1 else None,
        "next_url": link(page + 1) if page < pages else None,
        "resources": [kind.render(r) for r in rows],
    }
    return Response(200, orjson.dumps(envelope), V2_JSON, {"X-USER-GUID": grant.subject})


def _conditions(kind: Kind, queries: list[str]) -> list[tuple[str, set[str]]] | Response:
    """Parse `q` (`key:value`, `key IN a,b`; `;` joins several) into (attribute, values)."""
    out: list[tuple[str, set[str]]] = []
    for query in queries:
        for part in query.split(";"):
            key, value = _split(part)
            if kind is APPS or key not in SERVICE_Q_KEYS or value is None:
                return cferrors.v2(cferrors.BAD_QUERY_PARAMETER, key)
            out.append((key, value))
    return out


def _split(part: str) -> tuple[str, set[str] | None]:
    if " IN " in part:
        key, _, values = part.partition(" IN ")
        return key, set(values.split(","))
    for op in (">=", "<=", "<", ">"):
        if op in part:
            return part.partition(op)[0], None
    key, sep, value = part.partition(":")
    return key, ({value} if sep else None)


def _matches(row: ServiceRow, conditions: list[tuple[str, set[str]]]) -> bool:
    for key, values in conditions:
        actual = row.ctx.instance_type if key == "service_instance_type" else row.ctx.service_guid
        if actual not in values:
            return False
    return True


def get_event(kind: Kind, guid: str, grant: Grant, platform: Platform) -> Response:
    if not (access.may_read(grant)):
        return cferrors.v2(cferrors.INSUFFICIENT_SCOPE)
    if not access.reads_globally(grant):
        return cferrors.v2(cferrors.NOT_AUTHORIZED)
    try:
        row: AppRow | ServiceRow = kind.table(platform).get(guid)
    except UnknownGuid:
        return cferrors.v2(cferrors.EVENT_NOT_FOUND, guid)
    return Response(200, orjson.dumps(kind.render(row)), V2_JSON, {"X-USER-GUID": grant.subject})


def purge(kind: Kind, grant: Grant, platform: Platform) -> Response:
    if not access.is_admin(grant):
        return cferrors.v2(cferrors.INSUFFICIENT_SCOPE)
    if kind is APPS:
        platform.purge_apps()
    else:
        platform.purge_services()
    return Response(204, b"", None, {"X-USER-GUID": grant.subject})
