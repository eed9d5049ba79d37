"""The FastAPI application: `/healthz`, `/openapi.json`, the `/v1` routes, errors as JSON.

Built by `create_app(services)` with every collaborator passed in (nothing global). The
dashboard (issue 17, `tenant_api.dashboard`) is served beside `/v1` by the same process,
with the same token checks and access decisions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from importlib import metadata
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from tenant_api import dependencies, problems, routes
from tenant_api import schemas as reply_schemas
from tenant_api.access_log import AccessLog
from tenant_api.dashboard import install as dashboard
from tenant_api.dependencies import Services

# Routes anyone may call: the health checks (the OpenAPI document is not an API route) and
# the dashboard's front page, sign-in and stylesheet (its pages with figures take a guard).
PUBLIC_PATHS = frozenset({"/healthz", "/livez", "/readyz"}) | dashboard.PUBLIC_PATHS
DESCRIPTION = """Usage figures of a Cloud Foundry platform, for people and tools that cannot
reach the broker. Every `/v1` request carries `Authorization: Bearer <UAA access token>`.
A token with `cloud_controller.admin`, `cloud_controller.admin_read_only` or
`cloud_controller.global_auditor` reads every org; anyone else reads only the orgs in which
they are an org manager or billing manager, and must name them with `org_guid`."""


def _version() -> str:
    try:
        return metadata.version("paas-billing")
    except metadata.PackageNotFoundError:
        return "0"


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="paas-billing API",
        version=_version(),
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,  # the docs pages load scripts from a CDN; the document is enough
        redoc_url=None,
    )
    app.state.services = services
    app.add_api_route("/livez", livez, methods=["GET"], summary="Liveness", tags=["health"])
    app.add_api_route("/readyz", healthz, methods=["GET"], summary="Readiness", tags=["health"])
    app.add_api_route("/healthz", healthz, methods=["GET"], summary="Health", tags=["health"])
    app.include_router(routes.router)
    problems.install(app)
    dashboard.install(app)
    app.add_middleware(AccessLog, metrics=services.metrics, failure=dashboard.failure)
    refuse_unguarded(app)
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    return app


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, less the 422 it lists by default (this API answers a bad parameter
    with its own 400, `problems`, never a 422), plus the msgspec reply schemas."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for path in document["paths"].values():
            for operation in path.values():
                operation.get("responses", {}).pop("422", None)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        schemas.update(reply_schemas.components())
        app.openapi_schema = document
    return app.openapi_schema


async def livez() -> Response:
    """200 whenever the server's event loop answers: nothing else is checked, so an outage
    of the database or the UAA never gets the API restarted (that is `/readyz`)."""
    return Response(b'{"status":"ok"}', 200, media_type="application/json")


def healthz(request: Request) -> Response:
    """Readiness: 200 when the database answers and the UAA's keys are at hand, else 503."""
    checks: dict[str, bool] = request.app.state.services.health()
    healthy = all(checks.values())
    body = orjson.dumps({"status": "ok" if healthy else "unhealthy", **checks})
    return Response(body, 200 if healthy else 503, media_type="application/json")


def refuse_unguarded(app: FastAPI) -> None:
    """Deny by default: an API route that takes no access guard, other than the public
    ones, stops the API at start."""
    for route in _api_routes(app.routes):
        guarded = any(
            hasattr(d.call, dependencies.GUARD_MARK) for d in route.dependant.dependencies
        )
        if not guarded and route.path not in PUBLIC_PATHS:
            raise RuntimeError(f"route {route.path} has no access guard")


def _api_routes(found: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every APIRoute, in included routers too (FastAPI 0.16x keeps an included router
    whole, as `original_router`; mounts keep theirs as `routes`)."""
    for route in found:
        if isinstance(route, APIRoute):
            yield route
        nested = getattr(getattr(route, "original_router", route), "routes", None)
        if nested is not None and nested is not found:
            yield from _api_routes(nested)
