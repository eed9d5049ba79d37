"""`GET /v3/roles` and `POST /v3/roles`, as the Cloud Controller serves them.

The list takes the filters `user_guids`, `organization_guids`, `space_guids`, `types` and
`guids` (comma lists), pages with `page`/`per_page` in the v3 envelope (CF API spec §4.2),
and shows each caller only the roles `roles.RoleBook.visible_to` allows. Creating a role
(`cf set-org-role`) needs `cloud_controller.admin`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import orjson

from simulator import access, cferrors
from simulator.clock import iso
from simulator.exchange import V3_JSON, Request, Response
from simulator.roles import DuplicateRole, Role, RoleBook, RoleType, new_role
from simulator.uaa import Grant

PATH = "/v3/roles"
# Page size bounds and default, as for every v3 list.
PER_PAGE_MAX = 5000
DEFAULT_PER_PAGE = 50
# Comma-list filters: parameter -> the role attribute it matches.
FILTERS: dict[str, Callable[[Role], str | None]] = {
    "guids": lambda r: r.guid,
    "types": lambda r: r.type.value,
    "user_guids": lambda r: r.user_guid,
    "organization_guids": lambda r: None if r.space_guid else r.org_guid,
    "space_guids": lambda r: r.space_guid,
}
KEYS = ("page", "per_page", "order_by", "include", *FILTERS)


def list_roles(request: Request, grant: Grant, book: RoleBook, api_url: str) -> Response:
    if not access.may_read(grant):
        return cferrors.v3(cferrors.NOT_AUTHORIZED)
    params = dict(request.query)
    unknown = [k for k, _ in request.query if k not in KEYS]
    if unknown:
        valid = ", ".join(f"'{k}'" for k in KEYS)
        names = ", ".join(f"'{k}'" for k in dict.fromkeys(unknown))
        return cferrors.v3(
            cferrors.UNPROCESSABLE_ENTITY,
            f"Unknown query parameter(s): {names}. Valid parameters are: {valid}",
        )
    page, per_page = _positive(params.get("page", "1")), _positive(params.get("per_page", "50"))
    if page is None or per_page is None or per_page > PER_PAGE_MAX:
        return cferrors.v3(
            cferrors.UNPROCESSABLE_ENTITY,
            f"Page must be a positive integer, Per page must be between 1 and {PER_PAGE_MAX}",
        )
    roles = book.visible_to(grant.subject, access.reads_globally(grant))
    for key, attribute in FILTERS.items():
        if key in params:
            wanted = set(params[key].split(","))
            roles = [r for r in roles if attribute(r) in wanted]
    total, pages = len(roles), max(1, math.ceil(len(roles) / per_page))
    echo = [(k, v) for k, v in params.items() if k not in ("page", "per_page")]

    def link(number: int) -> dict[str, str]:
        items = [*echo, ("page", str(number)), ("per_page", str(per_page))]
        return {"href": api_url + PATH + "?" + urlencode(sorted(items))}

    shown = roles[(page - 1) * per_page : page * per_page]
    envelope = {
        "pagination": {
            "total_results": total,
            "total_pages": pages,
            "first": link(1),
            "last": link(pages),
            "next": link(page + 1) if page + 1 <= pages else None,
            "previous": link(page - 1) if page > 1 else None,
        },
        "resources": [render(r, api_url) for r in shown],
        "included": {},
    }
    return Response(200, orjson.dumps(envelope), V3_JSON, {"X-USER-GUID": grant.subject})


def create_role(
    request: Request,
    grant: Grant,
    book: RoleBook,
    api_url: str,
    usernames: Mapping[str, str],
    space_orgs: Mapping[str, str],
    now: int,
) -> Response:
    """`POST /v3/roles` with `type` and `relationships.user` (guid or username) and
    `relationships.organization` or `.space`; `space_orgs` maps the spaces it knows."""
    if not access.is_admin(grant):
        return cferrors.v3(cferrors.NOT_AUTHORIZED)
    try:
        body = orjson.loads(request.body)
        type_ = RoleType(body["type"])
        relationships = body["relationships"]
        user = relationships["user"]["data"]
        user_guid = user.get("guid") or usernames.get(user.get("username", ""))
        if type_.is_space_role:
            space_guid: str | None = relationships["space"]["data"]["guid"]
            org_guid = space_orgs.get(str(space_guid)) or book.space_org(str(space_guid))
        else:
            space_guid, org_guid = None, relationships["organization"]["data"]["guid"]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return cferrors.v3(cferrors.UNPROCESSABLE_ENTITY, "Invalid role request")
    if not isinstance(user_guid, str) or not isinstance(org_guid, str):
        return cferrors.v3(
            cferrors.UNPROCESSABLE_ENTITY, "Invalid user, organization or space in the request"
        )
    try:
        role = book.add(new_role(type_, user_guid, org_guid, space_guid, now))
    except DuplicateRole as exc:
        return cferrors.v3(cferrors.UNPROCESSABLE_ENTITY, str(exc))
    body_out = orjson.dumps(render(role, api_url))
    return Response(201, body_out, V3_JSON, {"X-USER-GUID": grant.subject})


def render(role: Role, api_url: str) -> dict[str, Any]:
    created = iso(role.created)
    org = None if role.space_guid else {"guid": role.org_guid}
    space = {"guid": role.space_guid} if role.space_guid else None
    links: dict[str, Any] = {
        "self": {"href": f"{api_url}{PATH}/{role.guid}"},
        "user": {"href": f"{api_url}/v3/users/{role.user_guid}"},
    }
    if org:
        links["organization"] = {"href": f"{api_url}/v3/organizations/{role.org_guid}"}
    if space:
        links["space"] = {"href": f"{api_url}/v3/spaces/{role.space_guid}"}
    return {
        "guid": role.guid,
        "created_at": created,
        "updated_at": created,
        "type": role.type.value,
        "relationships": {
            "user": {"data": {"guid": role.user_guid}},
            "organization": {"data": org},
            "space": {"data": space},
        },
        "links": links,
    }


def _positive(text: str) -> int | None:
    try:
        value = int(text)
    except ValueError:
        return None
    return value if value >= 1 else None
