"""The edge of every request: one log line and the metrics for each answer, and a JSON 500
(never a traceback) for anything that escaped the handlers.

The line says who asked (user id, client id), which orgs they named (`orgs_asked`) and
which they were given (`orgs`: a list, `all`, or null when refused), the status and why a
request was refused; never the token, never the query's raw text.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenant_api import problems
from tenant_api.metrics import ApiMetrics

log = structlog.get_logger()


class AccessLog:
    def __init__(
        self,
        app: ASGIApp,
        metrics: ApiMetrics,
        failure: Callable[[str], Response | None] = lambda _path: None,
    ) -> None:
        self._app = app
        self._metrics = metrics
        self._failure = failure  # a page for a path that is not JSON's (the dashboard's)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500
        sent = False

        async def watch(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status, sent = int(message["status"]), True
            await send(message)

        try:
            await self._app(scope, receive, watch)
        except Exception:  # the request's edge: log it, answer 500 as JSON
            log.exception("request_failed", method=scope["method"], path=scope["path"])
            self._metrics.errors.labels(kind="internal").inc()
            status = 500
            if not sent:
                response = self._failure(scope["path"]) or problems.answer(
                    500, "internal_error", "the API failed to answer"
                )
                await response(scope, receive, send)
        elapsed = time.perf_counter() - started
        route = getattr(scope.get("route"), "path", "unmatched")
        self._metrics.requests.labels(route=route, status=str(status)).inc()
        self._metrics.latency.labels(route=route).observe(elapsed)
        self._log(scope, state, status, elapsed)

    @staticmethod
    def _log(scope: Scope, state: dict[str, Any], status: int, elapsed: float) -> None:
        caller, decision = state.get("caller"), state.get("decision")
        orgs = getattr(decision, "orgs", None) if decision is not None else None
        log.info(
            "request_answered",
            method=scope["method"],
            path=scope["path"],
            status=status,
            duration_ms=round(elapsed * 1000, 1),
            user_id=getattr(caller, "user_id", None),
            client_id=getattr(caller, "client_id", None),
            orgs_asked=state.get("orgs_asked"),
            orgs="all" if decision is not None and orgs is None else orgs,
            refusal=state.get("refusal"),
        )
