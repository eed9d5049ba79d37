"""Requests and responses as the handlers see them, independent of the HTTP server."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

# Content types of the two API generations (CF API spec §1.3).
V2_JSON = "application/json;charset=utf-8"
V3_JSON = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]  # in order, repeated keys kept, blank values kept
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    raw_query: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def v2_json(
    status: int, payload: object, *, error: bool = False, headers: dict[str, str] | None = None
) -> Response:
    """A v2 answer; error bodies end with a newline, as Oj.dump + "\\n" does."""
    body = orjson.dumps(payload) + (b"\n" if error else b"")
    return Response(status, body, V2_JSON, headers or {})


def v3_json(status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
    return Response(status, orjson.dumps(payload), V3_JSON, headers or {})


def plain_json(status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
    """A UAA-style answer."""
    return Response(status, orjson.dumps(payload), "application/json;charset=UTF-8", headers or {})
