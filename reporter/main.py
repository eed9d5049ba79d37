"""`python -m reporter` / `paas-billing reporter`: wire the reporter together and run it."""

from __future__ import annotations

import argparse

import structlog
from prometheus_client import CollectorRegistry

from reporter import database_gauges, startup
from reporter.answer import Answerer
from reporter.metrics import ReporterMetrics
from reporter.server import Server
from reporter.settings import ReporterSettings
from shared import health, logging, metrics, settings, shutdown

# Exit code when the schema cannot be used: newer than this code, or a migration refused.
EXIT_SCHEMA = 1
# Seconds beyond the longest a request may take before liveness calls the loop stuck.
STALL_MARGIN_SECONDS = 120.0
DESCRIPTION = """Answer usage report requests from RabbitMQ (queue usage_report_requests).

Environment: DATABASE_URL, AMQP_URL (required); LOG_LEVEL (INFO); METRICS_PORT (unset: no
/metrics, /livez or /readyz); MIGRATE_ON_START (true; false: wait for `paas-billing
migrate`); REPORT_DB_RETRIES (3); REPORT_DB_RETRY_WAIT (1s, doubled per retry);
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
    stop = shutdown.StopSignal("finishing the request in hand").install()
    registry = CollectorRegistry()
    metrics.register_process(registry, "reporter")
    probes = health.Probes(stop, stall_seconds(config))
    probes.add("database", lambda: startup.database_reachable(config.database_url))
    exposed = metrics.serve(
        config.metrics_port, registry, probes.checks, alive=probes.liveness.alive
    )
    try:
        return serve(config, registry, probes, stop)
    finally:
        if exposed is not None:
            exposed.stop()


def stall_seconds(config: ReporterSettings) -> float:
    """The loop does not look at its stop signal while a request is answered: at most every
    attempt's statement timeout and the doubling waits between them, and a margin."""
    attempts = config.report_db_retries + 1
    timeout = config.report_statement_timeout.total_seconds()
    waits = config.report_db_retry_wait.total_seconds() * float(2**attempts - 1)
    longest = attempts * timeout + waits + STALL_MARGIN_SECONDS
    return float(max(health.DEFAULT_STALL_SECONDS, longest))


def serve(
    config: ReporterSettings,
    registry: CollectorRegistry,
    probes: health.Probes,
    stop: shutdown.StopSignal,
) -> int:
    log = structlog.get_logger()
    if not startup.prepare_schema(config.database_url, config.migrate_on_start, stop):
        return 0 if stop.is_set() else EXIT_SCHEMA
    reporter_metrics = ReporterMetrics(registry)
    registry.register(database_gauges.CollectionGaps(config.database_url))
    answerer = Answerer(config, reporter_metrics)
    server = Server(
        config.amqp_url, answerer, reporter_metrics, stop, config.report_max_reply_bytes
    )
    probes.add("broker", lambda: server.connected)
    probes.running()
    log.info("reporter_starting", metrics_port=config.metrics_port)
    return server.run()
