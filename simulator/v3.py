"""The v3 usage-event endpoints (CF API spec §4)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson

from simulator import access, cferrors, render
from simulator.clock import parse_iso
from simulator.exchange import V3_JSON, Request, Response, v3_json
from simulator.platform import Platform
from simulator.store import Table, UnknownGuid
from simulator.uaa import Grant

# Page size bounds and default (PaginationOptions::PER_PAGE_MAX).
PER_PAGE_MAX = 5000
DEFAULT_PER_PAGE = 50
# Parameters every usage-event list accepts, in the order the error message names them.
COMMON_KEYS = ("page", "per_page", "order_by", "created_ats", "updated_ats", "guids", "after_guid")
# The timestamp format filters take: `YYYY-MM-DDThh:mm:ssZ` exactly.
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_TIMESTAMP_ERROR = (
    "Created ats has an invalid timestamp format. Timestamps should be "
    "formatted as 'YYYY-MM-DDThh:mm:ssZ'"
)
_OPERATORS = ("lt", "lte", "gt", "gte")


@dataclass(frozen=True)
class Kind:
    path: str
    noun: str  # "app usage event"
    keys: tuple[str, ...]
    table: Callable[[Platform], Table[Any]]
    render: Callable[[Any, str], dict[str, Any]]


APPS = Kind("/v3/app_usage_events", "app usage event", COMMON_KEYS, lambda p: p.apps, render.v3_app)
SERVICES = Kind(
    "/v3/service_usage_events",
    "service usage event",
    (*COMMON_KEYS, "service_instance_types", "service_offering_guids"),
    lambda p: p.services,
    render.v3_service,
)


@dataclass(frozen=True)
class Query:
    page: int
    per_page: int
    order_by: str | None
    after_guid: str | None
    filters: list[Callable[[Any], bool]]
    echo: list[tuple[str, str]]  # what the links repeat


def list_events(kind: Kind, request: Request, grant: Grant, platform: Platform) -> Response:
    if not access.may_read(grant):
        return cferrors.v3(cferrors.NOT_AUTHORIZED)
    query = _parse(kind, request.query)
    if isinstance(query, Response):
        return query
    table = kind.table(platform)
    offset = (query.page - 1) * query.per_page
    if not access.reads_globally(grant):
        total, rows = 0, []
    else:
        try:
            if query.filters or query.order_by:
                rows = [r for r in table.scan(query.after_guid) if all(f(r) for f in query.filters)]
                if query.order_by:
                    rows.sort(
                        key=lambda r: (r.created, r.guid), reverse=query.order_by.startswith("-")
                    )
                total, rows = len(rows), rows[offset : offset + query.per_page]
            else:
                total, rows = table.page(query.after_guid, offset, query.per_page)
        except UnknownGuid:
            return cferrors.v3(
                cferrors.UNPROCESSABLE_ENTITY,
                f"After guid filter must be a valid {kind.noun} guid.",
            )
    pages = max(1, math.ceil(total / query.per_page))
    base = platform.api_url + kind.path

    def link(number: int) -> dict[str, str]:
        items = [*query.echo, ("page", str(number)), ("per_page", str(query.per_page))]
        return {"href": base + "?" + urlencode(sorted(items))}

    api_url = platform.api_url
    envelope = {
        "pagination": {
            "total_results": total,
            "total_pages": pages,
            "first": link(1),
            "last": link(pages),
            "next": link(query.page + 1) if query.page + 1 <= pages else None,
            "previous": link(query.page - 1) if query.page > 1 else None,
        },
        "resources": [kind.render(r, api_url) for r in rows],
    }
    return Response(200, orjson.dumps(envelope), V3_JSON, {"X-USER-GUID": grant.subject})


def _parse(kind: Kind, pairs: list[tuple[str, str]]) -> Query | Response:
    params: dict[str, str] = {}
    unknown: list[str] = []
    for key, value in pairs:
        base = key.split("[", 1)[0]
        if base not in kind.keys:
            unknown.append(key)
        params[key] = value
    if unknown:
        valid = ", ".join(f"'{k}'" for k in kind.keys)
        names = ", ".join(f"'{k}'" for k in dict.fromkeys(unknown))
        return cferrors.v3(
            cferrors.UNPROCESSABLE_ENTITY,
            f"Unknown query parameter(s): {names}. Valid parameters are: {valid}",
        )
    errors: list[str] = []
    page = _positive(params.get("page", "1"))
    if page is None:
        errors.append("Page must be a positive integer")
    per_page = _positive(params.get("per_page", str(DEFAULT_PER_PAGE)))
    if per_page is None:
        errors.append("Per page must be a positive integer")
    elif per_page > PER_PAGE_MAX:
        errors.append(f"Per page must be between 1 and {PER_PAGE_MAX}")
    order_by = params.get("order_by")
    if order_by is not None and order_by not in ("created_at", "+created_at", "-created_at"):
        errors.append("Order by can only be: 'created_at'")
    after = params.get("after_guid")
    if after is not None and len(after.split(",")) > 1:
        errors.append("After guid filter accepts only one guid")
    if any(k.split("[", 1)[0] == "updated_ats" for k in params):
        errors.append("Filtering by 'updated_ats' is not allowed on this resource.")
    filters: list[Callable[[Any], bool]] = []
    echo: list[tuple[str, str]] = []
    for key, value in params.items():
        if key in ("page", "per_page"):
            continue
        echo.append((key, value))
        if key.startswith("created_ats"):
            made = _created_filter(key, value)
            if made is None:
                errors.append(_TIMESTAMP_ERROR)
            else:
                filters.append(made)
        elif key in _LIST_FILTERS:
            filters.append(_one_of(_LIST_FILTERS[key], set(value.split(","))))
    if errors:
        return cferrors.v3(cferrors.UNPROCESSABLE_ENTITY, ", ".join(dict.fromkeys(errors)))
    assert page is not None and per_page is not None
    return Query(page, per_page, order_by, after, filters, echo)


def _one_of(attribute: Callable[[Any], object], values: set[str]) -> Callable[[Any], bool]:
    def test(row: Any) -> bool:
        return attribute(row) in values

    return test


# Comma-list filters: parameter -> the row attribute it matches.
_LIST_FILTERS: dict[str, Callable[[Any], object]] = {
    "guids": lambda r: r.guid,
    "service_instance_types": lambda r: r.ctx.instance_type,
    "service_offering_guids": lambda r: r.ctx.service_guid,
}


def _positive(text: str) -> int | None:
    try:
        value = int(text)
    except ValueError:
        return None
    return value if value >= 1 else None


def _created_filter(key: str, value: str) -> Callable[[Any], bool] | None:
    operator = key[len("created_ats") :].strip("[]") or None
    if operator is not None and operator not in _OPERATORS:
        return None
    values = value.split(",") if operator is None else [value]
    if not all(_TIMESTAMP.match(v) for v in values):
        return None
    stamps = [parse_iso(v) for v in values]
    if operator is None:
        wanted = set(stamps)
        return lambda r: r.created in wanted
    t = stamps[0]
    tests: dict[str, Callable[[Any], bool]] = {
        "lt": lambda r: r.created < t,
        "lte": lambda r: r.created <= t,
        "gt": lambda r: r.created > t,
        "gte": lambda r: r.created >= t,
    }
    return tests[operator]


def get_event(kind: Kind, guid: str, grant: Grant, platform: Platform) -> Response:
    if not access.may_read(grant):
        return cferrors.v3(cferrors.NOT_AUTHORIZED)
    not_found = cferrors.v3(cferrors.RESOURCE_NOT_FOUND, f"{kind.noun.capitalize()} not found")
    if not access.reads_globally(grant):
        return not_found
    try:
        row = kind.table(platform).get(guid)
    except UnknownGuid:
        return not_found
    return Response(
        200,
        orjson.dumps(kind.render(row, platform.api_url)),
        V3_JSON,
        {"X-USER-GUID": grant.subject},
    )


def purge(kind: Kind, grant: Grant, platform: Platform) -> Response:
    if not access.is_admin(grant):
        return cferrors.v3(cferrors.NOT_AUTHORIZED)
    if kind is APPS:
        platform.purge_apps()
    else:
        platform.purge_services()
    return v3_json(200, {}, {"X-USER-GUID": grant.subject})
