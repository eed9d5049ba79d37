"""Wiring the dashboard into the API: its routers, its public paths, its error pages.

The dashboard's paths answer errors as pages; `/v1`, `/healthz` and `/openapi.json` keep
answering JSON (`tenant_api.problems`), whatever the browser asks for.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException

from tenant_api import problems
from tenant_api.dashboard import pages, routes, signin

# Paths anyone may open.
PUBLIC_PATHS = routes.PUBLIC_PATHS | signin.PUBLIC_PATHS
# Paths (and prefixes) that are the JSON API's, not the dashboard's.
API_PREFIXES = ("/v1/", "/v1", "/healthz", "/openapi.json")
# What a page missing from the dashboard says.
NOT_FOUND = pages.Problem(404, "There is no such page", "Check the address, or start again.")


def install(app: FastAPI) -> None:
    app.include_router(signin.router)
    app.include_router(routes.router)
    app.add_exception_handler(pages.Problem, _problem)  # type: ignore[arg-type]
    app.add_exception_handler(pages.SignInNeeded, pages.sign_in_redirect)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]


def is_page(path: str) -> bool:
    return not any(path == p or path.startswith(p + "/") for p in API_PREFIXES)


def failure(path: str) -> Response | None:
    """The 500 page of a dashboard path (None: answer as the JSON API does)."""
    if not is_page(path):
        return None
    problem = pages.Problem(
        500, "Something went wrong", "The page could not be shown. Try again in a minute."
    )
    return pages.render("error.html", 500, problem=problem)


def _problem(request: Request, problem: pages.Problem) -> Response:
    return pages.problem_page(request, problem)


def _http(request: Request, exc: HTTPException) -> Response:
    if not is_page(request.url.path):
        return problems.http_error(request, exc)
    if exc.status_code == 405:
        problem = pages.Problem(405, "This page cannot be used that way", str(exc.detail))
        return pages.problem_page(request, problem)
    return pages.problem_page(request, NOT_FOUND)
