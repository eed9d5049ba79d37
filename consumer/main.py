"""`python -m consumer` / `paas-billing consumer`: wires settings, writer, metrics and the loop."""

from __future__ import annotations

import argparse
import threading

import structlog
from prometheus_client import CollectorRegistry

from consumer import health
from consumer.metrics import ConsumerMetrics
from consumer.runner import FIRST_WAIT_SECONDS, Runner
from consumer.settings import ConsumerSettings
from consumer.writer import Writer
from shared import amqp_frames, errors, metrics, migrate, runtime, settings, shutdown
from shared import logging as shared_logging
from shared.backoff import Backoff

log = structlog.get_logger()


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="paas-billing consumer",
        description="Store usage events from RabbitMQ (AMQP_URL) in PostgreSQL (DATABASE_URL). "
        "Also: LOG_LEVEL, METRICS_PORT, CONSUMER_PREFETCH, CONSUMER_BATCH_SIZE, "
        "CONSUMER_BATCH_WAIT (e.g. 50ms).",
    ).parse_args(argv)
    config = settings.load(ConsumerSettings)
    shared_logging.configure(config.log_level)
    amqp_frames.enabled()  # logs pika_untested when this pika is not one tested with
    stop = shutdown.StopSignal("finishing the batch in hand").install()
    try:
        if not migrate.apply_when_reachable(
            config.database_url, stop, Backoff(base=FIRST_WAIT_SECONDS)
        ):
            return 0  # stopped while waiting for the database
    except errors.BillingError as exc:
        log.error("migration_failed", error=str(exc))
        return 1
    registry = CollectorRegistry()
    runner = Runner(config, Writer(config.database_url), ConsumerMetrics(registry), stop)
    checks = {
        "database": health.database_check(config.database_url),
        "broker": health.broker_check(runner),
    }
    server = metrics.serve(config.metrics_port, registry, checks)
    runtime.tune_garbage_collector()
    try:
        return run_in_worker(runner)
    finally:
        if server is not None:
            server.stop()
        log.info("consumer_stopped")


def run_in_worker(runner: Runner) -> int:
    """Run the loop on a worker thread, so that the main thread stays free for signals even
    while the worker is blocked in a database or broker call."""
    outcome: list[int] = []

    def work() -> None:
        try:
            outcome.append(runner.run())
        except Exception:
            log.exception("consumer_crashed")
            outcome.append(1)

    worker = threading.Thread(target=work, name="consumer-loop", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(timeout=0.5)
    return outcome[0] if outcome else 1
