"""The Cloud Controller's error catalogue and its v2 and v3 envelopes (CF API spec §1.4)."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.exchange import Response, v2_json, v3_json


@dataclass(frozen=True)
class CFError:
    """One entry of `errors/v2.yml`: name, code, HTTP status, message format."""

    name: str
    code: int
    status: int
    message: str


INVALID_AUTH_TOKEN = CFError("InvalidAuthToken", 1000, 401, "Invalid Auth Token")
NOT_AUTHENTICATED = CFError("NotAuthenticated", 10002, 401, "Authentication error")
NOT_AUTHORIZED = CFError(
    "NotAuthorized", 10003, 403, "You are not authorized to perform the requested action"
)
BAD_QUERY_PARAMETER = CFError("BadQueryParameter", 10005, 400, "The query parameter is invalid: %s")
INSUFFICIENT_SCOPE = CFError(
    "InsufficientScope",
    10007,
    403,
    "Your token lacks the necessary scopes to access this resource.",
)
UNPROCESSABLE_ENTITY = CFError("UnprocessableEntity", 10008, 422, "%s")
RESOURCE_NOT_FOUND = CFError("ResourceNotFound", 10010, 404, "%s")
ORDER_BY_INVALID = CFError("OrderByParameterInvalid", 10012, 500, "Cannot order by: %s")
RATE_LIMIT_EXCEEDED = CFError("RateLimitExceeded", 10013, 429, "Rate Limit Exceeded")
EVENT_NOT_FOUND = CFError("EventNotFound", 230002, 404, "Event could not be found: %s")
NOT_FOUND = CFError("NotFound", 10000, 404, "Unknown request")


def _message(error: CFError, arg: str | None) -> str:
    return error.message % arg if "%s" in error.message else error.message


def v2(error: CFError, arg: str | None = None, headers: dict[str, str] | None = None) -> Response:
    body = {
        "description": _message(error, arg),
        "error_code": f"CF-{error.name}",
        "code": error.code,
    }
    return v2_json(error.status, body, error=True, headers=headers)


def v3(error: CFError, arg: str | None = None, headers: dict[str, str] | None = None) -> Response:
    body = {
        "errors": [
            {"detail": _message(error, arg), "title": f"CF-{error.name}", "code": error.code}
        ]
    }
    return v3_json(error.status, body, headers)


def v2_unknown(status: int = 500) -> Response:
    """An unhandled exception, v2 style."""
    body = {
        "error_code": "UnknownError",
        "description": "An unknown error occurred.",
        "code": 10001,
    }
    return v2_json(status, body, error=True)


def v3_unknown(status: int = 500) -> Response:
    body = {
        "errors": [{"title": "UnknownError", "detail": "An unknown error occurred.", "code": 10001}]
    }
    return v3_json(status, body)
