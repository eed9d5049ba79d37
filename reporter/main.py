"""`python -m reporter` / `paas-billing reporter`: wire the reporter together and run it."""

from __future__ import annotations

import argparse

import structlog
from prometheus_client import CollectorRegistry

from reporter import startup
from reporter.answer import Answerer
from reporter.metrics import ReporterMetrics
from reporter.server import Server
from reporter.settings import ReporterSettings
from shared import logging, metrics, settings, shutdown

# Exit code when the schema is behind and this role cannot migrate it.
EXIT_SCHEMA = 1
DESCRIPTION = """Answer usage report requests from RabbitMQ (queue usage_report_requests).

Environment: DATABASE_URL, AMQP_URL (required); LOG_LEVEL (INFO); METRICS_PORT (unset: no
/metrics or /healthz); REPORT_DB_RETRIES (3); REPORT_DB_RETRY_WAIT (1s, doubled per retry);
REPORT_STATEMENT_TIMEOUT (60s); REPORT_MAX_REPLY_BYTES (134217728, RabbitMQ's default
max_message_size: a larger report gets a report_too_large error). First SIGTERM finishes
the request in hand; a second exits."""


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="paas-billing reporter",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).parse_args(argv)
    config = settings.load(ReporterSettings)
    logging.configure(config.log_level)
    log = structlog.get_logger()
    stop = shutdown.StopSignal("finishing the request in hand").install()
    if not startup.prepare_schema(config.database_url, stop):
        return 0 if stop.is_set() else EXIT_SCHEMA
    registry = CollectorRegistry()
    reporter_metrics = ReporterMetrics(registry)
    answerer = Answerer(config, reporter_metrics)
    server = Server(
        config.amqp_url, answerer, reporter_metrics, stop, config.report_max_reply_bytes
    )
    checks = {
        "database": lambda: startup.database_reachable(config.database_url),
        "broker": lambda: server.connected,
    }
    exposed = metrics.serve(config.metrics_port, registry, checks)
    log.info("reporter_starting", metrics_port=config.metrics_port)
    try:
        return server.run()
    finally:
        if exposed is not None:
            exposed.stop()
