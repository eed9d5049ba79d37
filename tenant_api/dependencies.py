"""What every `/v1` handler receives: an `Allowed` request, or never runs.

`guard(rule, decode)` makes the one dependency a `/v1` route takes. It verifies the token
(401), decodes the query string with `decode` (400), and lets `access.decide` rule on it
(403), in that order, timing each stage. `app.create_app` refuses to start when a `/v1`
route has no guard, so a route added without one is closed, not open.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from reporter import bill_protocol, protocol
from tenant_api import access, tokens
from tenant_api.dashboard.state import Dashboard
from tenant_api.metrics import ApiMetrics
from tenant_api.reports import Reports
from tenant_api.roles import OrgRoles
from tenant_api.token_keys import TokenKeys

Q = TypeVar("Q")
# Documents the bearer scheme in the OpenAPI document; the header is read by `authenticated`.
BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="uaaBearer",
    bearerFormat="JWT",
    description="A UAA access token (for example `cf oauth-token`), RS256-signed.",
)
# Attribute that marks a dependency made by `guard`, holding its rule.
GUARD_MARK = "__access_rule__"


@dataclass(frozen=True)
class Services:
    """The API's collaborators, built in main() and kept on `app.state.services`."""

    keys: TokenKeys
    roles: OrgRoles
    reports: Reports
    metrics: ApiMetrics
    health: Callable[[], dict[str, bool]]
    dashboard: Dashboard | None = None  # the pages at / (tenant_api/dashboard)


@dataclass(frozen=True)
class Allowed(Generic[Q]):
    """A request that passed: the decoded query, and what the caller may read."""

    query: Q
    decision: access.Decision


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def authenticated(request: Request, _scheme: Any = Depends(BEARER)) -> tokens.Caller:  # noqa: B008
    """The verified caller (kept on request.state for the access log)."""
    started = time.perf_counter()
    try:
        token = tokens.bearer(request.headers.get("authorization"))
        caller = tokens.verify(token, services(request).keys)
    finally:
        services(request).metrics.stage.labels(stage="token").observe(time.perf_counter() - started)
    request.state.caller = caller
    return caller


def guard(rule: access.Rule, decode: Callable[..., Q]) -> Callable[..., Allowed[Q]]:
    """The dependency of a `/v1` route under `rule`, whose query `decode` reads."""

    def dependency(
        request: Request,
        caller: Any = Depends(authenticated),  # noqa: B008 (FastAPI's way)
        query: Any = Depends(decode),  # noqa: B008
    ) -> Allowed[Q]:
        started = time.perf_counter()
        request.state.orgs_asked = _orgs(query)
        try:
            decision = access.decide(
                rule, caller, request.state.orgs_asked, services(request).roles
            )
        finally:
            services(request).metrics.stage.labels(stage="roles").observe(
                time.perf_counter() - started
            )
        request.state.decision = decision
        return Allowed(query, decision)

    setattr(dependency, GUARD_MARK, rule)
    return dependency


def _orgs(query: object) -> tuple[str, ...] | None:
    """The orgs a decoded query names (a report or bill request's `org_guids`)."""
    if isinstance(query, protocol.ReportRequest | bill_protocol.BillRequest):
        return query.org_guids
    return None
