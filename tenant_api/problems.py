"""Errors as JSON: `{"error": {"code", "message", "field"}}`, the status each error gets.

400 a bad parameter (naming it), 401 a missing or bad token (with `WWW-Authenticate:
Bearer`), 403 not allowed, 404/405 no such route, 503 a dependency that cannot answer
(database, UAA, Cloud Controller). Messages never carry a token, a password or another
tenant's data; the details of an outage go to the log, not to the client.
"""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from shared import errors
from shared import logging as shared_logging

log = structlog.get_logger()

# The challenge every 401 carries (CONTRACT "HTTP API").
WWW_AUTHENTICATE = {"WWW-Authenticate": "Bearer"}
# What a client is told when a dependency is down (the log has the details).
UNAVAILABLE = {
    "database": "the database is unavailable; try again later",
    "uaa": "the UAA or the Cloud Controller cannot be reached; try again later",
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """Every error answer."""

    error: ErrorDetail


V1_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "A parameter is missing or malformed."},
    401: {"model": ErrorBody, "description": "No token, or one that does not verify."},
    403: {"model": ErrorBody, "description": "The token may not read what was asked for."},
    503: {"model": ErrorBody, "description": "The database, UAA or Cloud Controller is down."},
}


def answer(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {"error": {"code": code, "message": shared_logging.redact_text(message), "field": field}}
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def install(app: FastAPI) -> None:
    """Register the handlers that turn errors into answers."""
    app.add_exception_handler(errors.InvalidRequest, _invalid_request)  # type: ignore[arg-type]
    app.add_exception_handler(errors.InvalidToken, _invalid_token)  # type: ignore[arg-type]
    app.add_exception_handler(errors.Forbidden, _forbidden)  # type: ignore[arg-type]
    app.add_exception_handler(errors.DatabaseUnavailable, _database)  # type: ignore[arg-type]
    app.add_exception_handler(errors.DatabaseError, _database)  # type: ignore[arg-type]
    app.add_exception_handler(errors.CloudFoundryUnavailable, _cloud_foundry)  # type: ignore[arg-type]
    app.add_exception_handler(errors.CloudFoundryRefused, _cloud_foundry)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, http_error)  # type: ignore[arg-type]


def _invalid_request(_request: Request, exc: errors.InvalidRequest) -> Response:
    return answer(400, "invalid_request", str(exc), exc.field)


def _invalid_token(request: Request, exc: errors.InvalidToken) -> Response:
    request.state.refusal = str(exc)
    return answer(401, "unauthorized", str(exc), headers=WWW_AUTHENTICATE)


def _forbidden(request: Request, exc: errors.Forbidden) -> Response:
    request.state.refusal = str(exc)
    return answer(403, "forbidden", str(exc))


def _database(request: Request, exc: errors.BillingError) -> Response:
    log.warning("database_unavailable", error=str(exc))
    request.app.state.services.metrics.errors.labels(kind="database").inc()
    return answer(503, "unavailable", UNAVAILABLE["database"])


def _cloud_foundry(request: Request, exc: errors.BillingError) -> Response:
    log.warning("cloud_foundry_unavailable", error=str(exc))
    request.app.state.services.metrics.errors.labels(kind="uaa").inc()
    return answer(503, "unavailable", UNAVAILABLE["uaa"])


def _validation(_request: Request, exc: RequestValidationError) -> Response:
    first = exc.errors()[0] if exc.errors() else {}
    location = first.get("loc", ())
    field = str(location[-1]) if location else None
    return answer(400, "invalid_request", f"{field}: {first.get('msg', 'invalid')}", field)


def http_error(_request: Request, exc: HTTPException) -> Response:
    codes = {404: "not_found", 405: "method_not_allowed"}
    code = codes.get(
        exc.status_code, "invalid_request" if exc.status_code < 500 else "internal_error"
    )
    headers = dict(exc.headers or {})
    return answer(exc.status_code, code, str(exc.detail), headers=headers)
