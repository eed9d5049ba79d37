"""Reports, bills and the pricing for the API, computed by the reporters' own code
(`reporter.usage`, `reporter.bill`, `shared.pricing_store`).

A pooled connection may have died since its last use (PostgreSQL restarted): a report that
loses its connection is tried once more on a fresh one before the database is called
unavailable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson

from paas_billing import pricing_show
from reporter import bill, bill_assembly, bill_protocol, protocol, usage
from shared import db, errors, pricing_store
from tenant_api import pool
from tenant_api.metrics import ApiMetrics

# Attempts at a report when the connection is lost under it.
ATTEMPTS = 2
T = TypeVar("T")


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
        report = self._compute(
            lambda conn: usage.compute(
                conn, request, self._clock(), statement_timeout_ms=self._timeout_ms
            )
        )
        started = time.perf_counter()
        body = protocol.report_body(report)
        self._metrics.stage.labels(stage="serialize").observe(time.perf_counter() - started)
        return body

    def bill(self, request: bill_protocol.BillRequest) -> bytes:
        """The JSON body of the bill: exactly the `bill` object of a queue reply."""
        computed = self._compute(
            lambda conn: bill.compute(
                conn, request, self._clock(), statement_timeout_ms=self._timeout_ms
            )
        )
        started = time.perf_counter()
        body = bill_assembly.bill_body(computed)
        self._metrics.stage.labels(stage="serialize").observe(time.perf_counter() - started)
        return body

    def pricing(self) -> bytes:
        """The pricing in force (as a pricing file), the file it came from, the closed months."""

        def load(conn: db.Connection) -> dict[str, Any]:
            with db.transaction(conn) as cursor:
                in_force = pricing_store.load(cursor)
                closed = pricing_store.closed(cursor)
            return pricing_show.as_document(in_force, closed)

        return orjson.dumps(self._compute(load))

    def run(self, compute: Callable[[db.Connection], T]) -> T:
        """Any computation over a pooled connection (the dashboard's pages), retried as a
        report is when the connection is lost under it."""
        return self._compute(compute)

    def _compute(self, compute: Callable[[db.Connection], T]) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            waiting = time.perf_counter()
            try:
                with self._pool.connection() as conn:
                    started = time.perf_counter()
                    self._metrics.stage.labels(stage="db_wait").observe(started - waiting)
                    try:
                        return compute(conn)
                    finally:
                        elapsed = time.perf_counter() - started
                        self._metrics.stage.labels(stage="report").observe(elapsed)
            except pool.Busy:
                raise
            except errors.DatabaseUnavailable:
                if attempt == ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover
