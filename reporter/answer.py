"""Turn a request body into a reply: validate, compute over the database, retry when down."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from reporter import protocol, usage
from reporter.metrics import ReporterMetrics
from reporter.settings import ReporterSettings
from shared import db, errors
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

    def answer(self, body: bytes) -> tuple[protocol.Reply, str]:
        """The reply and its outcome label; never raises for a bad request or a down database."""
        try:
            request = protocol.parse_request(body)
        except errors.InvalidRequest as exc:
            log.info("request_invalid", field=exc.field, error=str(exc))
            code = protocol.ErrorCode.INVALID_REQUEST
            # The message echoes the bad value: never echo credentials, even the client's own.
            message = shared_logging.redact_text(str(exc))
            return protocol.error_reply(code, message, exc.field), code.value
        return self._compute(request)

    def _compute(self, request: protocol.ReportRequest) -> tuple[protocol.Reply, str]:
        wait = self._settings.report_db_retry_wait.total_seconds()
        attempts = self._settings.report_db_retries + 1
        timeout_ms = int(self._settings.report_statement_timeout.total_seconds() * 1000)
        for attempt in range(1, attempts + 1):
            try:
                report = usage.compute(
                    self._connection(),
                    request,
                    self._clock(),
                    statement_timeout_ms=timeout_ms,
                    helpers=self._helper_connections(),
                )
                return protocol.OkReply(report=report), "ok"
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
                log.exception("report_failed")
                self.close()
                code = protocol.ErrorCode.INTERNAL
                return protocol.error_reply(code, "the report query failed"), code.value
        code = protocol.ErrorCode.UNAVAILABLE
        message = f"the database is unavailable after {attempts} attempts; try again later"
        return protocol.error_reply(code, message), code.value

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
