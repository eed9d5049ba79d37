"""Reports for the API, computed by the reporters' own code (`reporter.usage.compute`).

A pooled connection may have died since its last use (PostgreSQL restarted): a report that
loses its connection is tried once more on a fresh one before the database is called
unavailable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import orjson

from reporter import protocol, usage
from shared import errors
from tenant_api import pool
from tenant_api.metrics import ApiMetrics

# Attempts at a report when the connection is lost under it.
ATTEMPTS = 2


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Reports:
    def __init__(
        self,
        connections: pool.Pool,
        statement_timeout_ms: int,
        metrics: ApiMetrics,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._pool = connections
        self._timeout_ms = statement_timeout_ms
        self._metrics = metrics
        self._clock = clock

    def usage(self, request: protocol.ReportRequest) -> bytes:
        """The JSON body of the report: exactly the `report` object of a queue reply."""
        report = self._compute(request)
        started = time.perf_counter()
        body = orjson.dumps(report.model_dump(mode="json", by_alias=True))
        self._metrics.stage.labels(stage="serialize").observe(time.perf_counter() - started)
        return body

    def _compute(self, request: protocol.ReportRequest) -> protocol.Report:
        for attempt in range(1, ATTEMPTS + 1):
            waiting = time.perf_counter()
            try:
                with self._pool.connection() as conn:
                    started = time.perf_counter()
                    self._metrics.stage.labels(stage="db_wait").observe(started - waiting)
                    try:
                        return usage.compute(
                            conn, request, self._clock(), statement_timeout_ms=self._timeout_ms
                        )
                    finally:
                        elapsed = time.perf_counter() - started
                        self._metrics.stage.labels(stage="report").observe(elapsed)
            except pool.Busy:
                raise
            except errors.DatabaseUnavailable:
                if attempt == ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover
