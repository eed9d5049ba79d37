"""`python -m consumer` / `paas-billing consumer`: wires settings, writer, metrics and the loop."""

from __future__ import annotations

import argparse
import threading

import structlog
from prometheus_client import CollectorRegistry

from consumer import health as consumer_health
from consumer.metrics import ConsumerMetrics
from consumer.runner import FIRST_WAIT_SECONDS, Runner
from consumer.settings import ConsumerSettings
from consumer.writer import Writer
from shared import amqp_frames, errors, health, metrics, migrate, runtime, settings, shutdown
from shared import logging as shared_logging
from shared.backoff import Backoff

log = structlog.get_logger()


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="paas-billing consumer",
        description="Store usage events from RabbitMQ (AMQP_URL) in PostgreSQL (DATABASE_URL). "
        "Also: LOG_LEVEL, METRICS_PORT (/metrics, /livez, /readyz), MIGRATE_ON_START, "
        "CONSUMER_PREFETCH, CONSUMER_BATCH_SIZE, CONSUMER_BATCH_WAIT (e.g. 50ms).",
    ).parse_args(argv)
    config = settings.load(ConsumerSettings)
    shared_logging.configure(config.log_level)
    amqp_frames.enabled()  # logs pika_untested when this pika is not one tested with
    stop = shutdown.StopSignal("finishing the batch in hand").install()
    registry = CollectorRegistry()
    metrics.register_process(registry, "consumer")
    probes = health.Probes(stop)
    probes.add("database", consumer_health.database_check(config.database_url))
    server = metrics.serve(
        config.metrics_port, registry, probes.checks, alive=probes.liveness.alive
    )
    try:
        return run_when_schema_ready(config, registry, probes, stop)
    finally:
        if server is not None:
            server.stop()
        log.info("consumer_stopped")


def run_when_schema_ready(
    config: ConsumerSettings,
    registry: CollectorRegistry,
    probes: health.Probes,
    stop: shutdown.StopSignal,
) -> int:
    try:
        if not migrate.prepare(
            config.database_url,
            apply_at_start=config.migrate_on_start,
            stop=stop,
            backoff=Backoff(base=FIRST_WAIT_SECONDS),
        ):
            return 0  # stopped while waiting for the database or the schema
    except errors.BillingError as exc:
        log.error("schema_not_usable", error=str(exc))
        return 1
    runner = Runner(config, Writer(config.database_url), ConsumerMetrics(registry), stop)
    probes.add("broker", consumer_health.broker_check(runner))
    probes.running()
    runtime.tune_garbage_collector()
    return run_in_worker(runner)


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
