"""The dashboard's pages: the front page, an org's month, its lines as CSV, every org ranked.

Access is `/v1`'s: `access.decide` with the org in the address, the roles the Cloud
Controller gives (cached), a global read scope for every org. A billing manager of one org
who types another org's address gets the same 403 page whether that org exists or not.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from shared import errors
from tenant_api import access, dependencies, queries
from tenant_api.dashboard import charts, guard, lines_csv, pages, views
from tenant_api.dashboard.guard import Viewer
from tenant_api.dashboard.months import Month

router = APIRouter(include_in_schema=False)

# Characters kept in a download's file name (anything else becomes `_`).
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
# Paths anyone may open.
PUBLIC_PATHS = frozenset({"/", pages.CSS_PATH})
Signed = Annotated[Viewer, Depends(guard.viewer)]


@router.get("/")
def home(request: Request) -> Response:
    """Signed out: what this is and a sign-in link. An admin: every org ranked. A manager of
    one org: its page; of several: the list; of none: what to ask for."""
    found = guard.optional_viewer(request)
    if found is None:
        return pages.render("home.html", configured=guard.board(request).uaa is not None)
    if found.caller.reads_every_org:
        return _to("/orgs")
    with pages.translated():
        orgs = sorted(dependencies.services(request).roles.managed_orgs(found.caller))
    if len(orgs) == 1:
        return _to(f"/orgs/{orgs[0]}")
    return pages.render("home.html", configured=True, viewer=found, orgs=orgs)


@router.get("/orgs")
def ranking(request: Request, viewer: Signed) -> Response:
    board = guard.board(request)
    with pages.translated(guard.here(request)):
        now = board.now()
        month = Month.parse(request.query_params.get("month"), now)
        _allow(request, viewer, None)
        body = board.figures.every_org(month, now)
    page = views.ranking(body, month, now)
    return pages.render("orgs.html", viewer=viewer, page=page, nav=_nav("/orgs", month, now))


@router.get("/orgs/{org_guid}")
def org(request: Request, org_guid: str, viewer: Signed) -> Response:
    board = guard.board(request)
    with pages.translated(guard.here(request)):
        now = board.now()
        month = Month.parse(request.query_params.get("month"), now)
        _allow(request, viewer, org_guid)
        page = views.org_page(board.figures.org_month(org_guid, month, now))
    chart = charts.daily(page.days, page.headline.currency, "chart-title", "chart-desc")
    return pages.render(
        "org.html",
        viewer=viewer,
        page=page,
        chart=chart,
        nav=_nav(f"/orgs/{org_guid}", month, now),
    )


@router.get("/orgs/{org_guid}/bill.csv")
def org_csv(request: Request, org_guid: str, viewer: Signed) -> Response:
    board = guard.board(request)
    with pages.translated(guard.here(request)):
        now = board.now()
        month = Month.parse(request.query_params.get("month"), now)
        _allow(request, viewer, org_guid)
        found = board.figures.org_month(org_guid, month, now)
    name = f"bill-{month.key}-{_SAFE_NAME.sub('_', org_guid[:40])}.csv"
    headers = {**pages.PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(lines_csv.render(found.bill), 200, headers, media_type="text/csv")


@router.get(pages.CSS_PATH)
def stylesheet() -> Response:
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return Response(pages.CSS, 200, headers, media_type="text/css")


def _allow(request: Request, viewer: Viewer, org_guid: str | None) -> None:
    """`/v1`'s decision for this org (None: every org), or Forbidden as a 403 page."""
    named = None
    if org_guid is not None:
        queries.guids(queries.Params((("org_guid", org_guid),)), "org_guid")
        named = (org_guid,)
    request.state.orgs_asked = named
    try:
        request.state.decision = access.decide(
            access.Rule.ORG_SCOPED, viewer.caller, named, dependencies.services(request).roles
        )
    except errors.Forbidden as exc:
        request.state.refusal = str(exc)
        if org_guid is None:
            raise pages.Problem(
                403, "Only platform administrators and auditors can see every org",
                "Open your own org's page from the front page instead.",
            ) from None  # fmt: skip
        raise pages.Problem(
            403, "You cannot open this org's page",
            "You can open only the orgs in which you are a manager or billing manager. If "
            "you should see this org, ask one of its managers to give you that role.",
        ) from None  # fmt: skip


def _nav(path: str, month: Month, now: datetime) -> dict[str, object]:
    """Links to the months before and after (none into the future)."""
    current = Month.of(now)
    return {
        "path": path,
        "month": month,
        "previous": month.previous(),
        "next": month.next() if month < current else None,
    }


def _to(target: str) -> Response:
    return RedirectResponse(target, 303, headers=dict(pages.PAGE_HEADERS))
