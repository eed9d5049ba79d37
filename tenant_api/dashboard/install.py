"""Wiring the dashboard into the API: its routers, its public paths, its error pages.

The dashboard's paths answer errors as pages. An address that is no one's gets a page when
a browser asks for HTML and JSON otherwise (tools, scripts), as before the dashboard;
`/v1`, `/healthz` and `/openapi.json` always answer JSON (`tenant_api.problems`).
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException

from tenant_api import problems
from tenant_api.dashboard import pages, routes, signin

# Paths anyone may open.
PUBLIC_PATHS = routes.PUBLIC_PATHS | signin.PUBLIC_PATHS
# Paths (and prefixes) that are the JSON API's, not the dashboard's.
API_PREFIXES = ("/v1", "/healthz", "/openapi.json")
# Prefixes of the dashboard's own paths (besides `/`).
PAGE_PREFIXES = ("/orgs", "/sign-in", "/sign-out", "/auth/", pages.CSS_PATH)
# What a page missing from the dashboard says.
NOT_FOUND = pages.Problem(404, "There is no such page", "Check the address, or start again.")


def install(app: FastAPI) -> None:
    app.include_router(signin.router)
    app.include_router(routes.router)
    app.add_exception_handler(pages.Problem, _problem)  # type: ignore[arg-type]
    app.add_exception_handler(pages.SignInNeeded, pages.sign_in_redirect)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]


def is_page(path: str) -> bool:
    """Whether `path` is one of the dashboard's."""
    return path == "/" or path.startswith(PAGE_PREFIXES)


def _is_api(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in API_PREFIXES)


def _wants_page(request: Request) -> bool:
    path = request.url.path
    if is_page(path):
        return True
    return not _is_api(path) and "text/html" in request.headers.get("accept", "")


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
    if not _wants_page(request):
        return problems.http_error(request, exc)
    if exc.status_code == 405:
        problem = pages.Problem(405, "This page cannot be used that way", str(exc.detail))
        return pages.problem_page(request, problem)
    return pages.problem_page(request, NOT_FOUND)
