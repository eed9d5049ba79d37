"""Turn a request body into a reply body: validate, compute a usage report or a bill over the
database, retry while it is down."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NamedTuple

import structlog

from reporter import bill, bill_assembly, bill_protocol, protocol, usage
from reporter.metrics import ReporterMetrics
from reporter.settings import ReporterSettings
from shared import db, errors, gc_pause
from shared import logging as shared_logging

log = structlog.get_logger()

# Longest wait between two database attempts for one request, in seconds.
MAX_RETRY_WAIT_SECONDS = 30.0
# Extra connections each report's queries run on at the same time, on the report's snapshot
# (`parallel`): PostgreSQL does not parallelise window functions; one helper took the
# 1M-event all-orgs report from 2.55 s to 1.85 s on the shared 2-core machine (BENCHMARKS).
HELPER_CONNECTIONS = 1


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Answer(NamedTuple):
    """A reply body, the outcome it is counted under, and how many rows or lines it holds."""

    body: bytes
    outcome: str
    rows: int


def _error(code: protocol.ErrorCode, message: str, field: str | None = None) -> Answer:
    return Answer(protocol.to_body(protocol.error_reply(code, message, field)), code.value, 0)


class Answerer:
    """Holds a read-only database connection; answers one request at a time."""

    def __init__(
        self,
        settings: ReporterSettings,
        metrics: ReporterMetrics,
        clock: Callable[[], datetime] = _utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._sleep = sleep
        self._conn: db.Connection | None = None
        self._helpers: list[db.Connection] = []

    def answer(self, body: bytes) -> Answer:
        """The reply body, its outcome and size; never raises for a bad request or a down
        database. A request with `"type": "bill"` gets a bill, any other a usage report."""
        try:
            request = bill_protocol.parse(body)
        except errors.InvalidRequest as exc:
            log.info("request_invalid", field=exc.field, error=str(exc))
            code = protocol.ErrorCode.INVALID_REQUEST
            # The message echoes the bad value: never echo credentials, even the client's own.
            message = shared_logging.redact_text(str(exc))
            return _error(code, message, exc.field)
        if isinstance(request, bill_protocol.BillRequest):
            return self._with_database(lambda: self._bill(request), "bill")
        return self._with_database(lambda: self._report(request), "report")

    def _report(self, request: protocol.ReportRequest) -> Answer:
        with gc_pause.paused():
            report = usage.compute(
                self._connection(),
                request,
                self._clock(),
                statement_timeout_ms=self._timeout_ms(),
                helpers=self._helper_connections(),
            )
            body = protocol.to_body(protocol.OkReply(report=report))
        return Answer(body, "ok", len(report.rows))

    def _bill(self, request: bill_protocol.BillRequest) -> Answer:
        with gc_pause.paused():
            bill_body = bill.compute(
                self._connection(),
                request,
                self._clock(),
                statement_timeout_ms=self._timeout_ms(),
                helpers=self._helper_connections(),
            )
            self._note_closed_month(request, bill_body)
            lines = sum(len(org["lines"]) for org in bill_body["orgs"])
            body = bill_assembly.reply_body(bill_body)
        return Answer(body, "ok", lines)

    def _note_closed_month(
        self, request: bill_protocol.BillRequest, bill_body: bill_assembly.BillBody
    ) -> None:
        """A whole closed month's bill (no filters) says whether it differs now: a gauge."""
        closed = bill_body.get("closed")
        filtered = request.org_guids or request.space_guids or request.foundations
        if closed and not filtered:
            month = request.from_.strftime("%Y-%m")
            self._metrics.closed_month_differs.labels(month=month).set(int(closed["differs_now"]))

    def _timeout_ms(self) -> int:
        return int(self._settings.report_statement_timeout.total_seconds() * 1000)

    def _with_database(self, compute: Callable[[], Answer], what: str) -> Answer:
        """`compute()`, retried with backoff while the database is unavailable; an error
        reply when it stays so or refuses the query."""
        wait = self._settings.report_db_retry_wait.total_seconds()
        attempts = self._settings.report_db_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return compute()
            except errors.DatabaseUnavailable as exc:
                self._metrics.errors.labels(kind="database").inc()
                self.close()
                if attempt == attempts:
                    log.error("database_unavailable", attempt=attempt, error=str(exc))
                    break
                log.warning(
                    "database_unavailable", attempt=attempt, retry_in_s=wait, error=str(exc)
                )
                self._sleep(wait)
                wait = min(wait * 2, MAX_RETRY_WAIT_SECONDS)
            except errors.DatabaseError:
                self._metrics.errors.labels(kind="database").inc()
                log.exception(f"{what}_failed")
                self.close()
                return _error(protocol.ErrorCode.INTERNAL, f"the {what} query failed")
        message = f"the database is unavailable after {attempts} attempts; try again later"
        return _error(protocol.ErrorCode.UNAVAILABLE, message)

    def _connection(self) -> db.Connection:
        if self._conn is None or db.is_closed(self._conn):
            self._conn = db.connect(
                self._settings.database_url, application_name="paas-billing-reporter"
            )
        return self._conn

    def _helper_connections(self) -> list[db.Connection]:
        wanted = HELPER_CONNECTIONS
        self._helpers = [c for c in self._helpers if not db.is_closed(c)]
        while len(self._helpers) < wanted:
            self._helpers.append(
                db.connect(self._settings.database_url, application_name="paas-billing-reporter")
            )
        return self._helpers

    def close(self) -> None:
        db.close_quietly(self._conn)
        self._conn = None
        for helper in self._helpers:
            db.close_quietly(helper)
        self._helpers = []
