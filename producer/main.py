"""`python -m producer`: wire settings, logging, collaborators; run until SIGTERM."""

from __future__ import annotations

import argparse
import sys

import structlog
from prometheus_client import CollectorRegistry

from producer import poller, settings, uaa
from producer.cf_client import CloudController
from producer.cursor import CursorStore
from producer.metrics import ProducerMetrics
from producer.publisher import Publisher
from producer.runner import INFRA_BACKOFF_CAP_SECONDS, Runner
from shared import amqp_frames, errors, health, metrics, migrate, runtime
from shared import logging as shared_logging
from shared import settings as shared_settings
from shared.backoff import Backoff
from shared.shutdown import StopSignal
from shared.transport import Transport

log = structlog.get_logger()


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="paas-billing producer",
        description="Poll the CF usage-events API and publish every event to RabbitMQ in API "
        "order. Configured by environment: DATABASE_URL, AMQP_URL, CF_API_ADDRESS, CF_* "
        "credentials, COLLECTOR_*, CF_API_VERSION, CF_FOUNDATION, METRICS_PORT (/metrics, "
        "/livez, /readyz), MIGRATE_ON_START, LOG_LEVEL.",
    ).parse_args(argv)
    config = shared_settings.load(settings.ProducerSettings)
    try:
        settings.auth_method(config)
    except errors.ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return shared_settings.EXIT_CONFIG
    shared_logging.configure(config.log_level)
    amqp_frames.enabled()  # logs pika_untested when this pika is not one tested with
    stop = StopSignal("finishing the page in hand").install()
    registry = CollectorRegistry()
    metrics.register_process(registry, "producer")
    probes = health.Probes(stop)
    server = metrics.serve(
        config.metrics_port, registry, probes.checks, alive=probes.liveness.alive
    )
    try:
        if not migrate.prepare(
            config.database_url,
            apply_at_start=config.migrate_on_start,
            stop=stop,
            backoff=Backoff(cap=INFRA_BACKOFF_CAP_SECONDS),
        ):
            return 0  # stopped while waiting for the database or the schema
    except errors.BillingError as exc:
        log.error("schema_not_usable", error=str(exc))
        if server is not None:
            server.stop()
        return 1
    producer_metrics = ProducerMetrics(registry)
    transport = Transport(config.cf_user_agent, verify_tls=not config.cf_skip_ssl_validation)
    publisher = Publisher(config.amqp_url)
    store = CursorStore(config.database_url, config.cf_foundation)
    runner = Runner(
        foundation=config.cf_foundation,
        api_version=config.cf_api_version,
        fetch_limit=config.collector_fetch_limit,
        timing=poller.Timing(
            default_schedule=config.collector_default_schedule,
            min_wait=config.collector_min_wait_time,
            record_min_age=config.collector_record_min_age,
        ),
        database_url=config.database_url,
        cloud_controller=CloudController(
            transport,
            config.cf_api_address,
            uaa.token_source(config, transport),
            config.cf_api_version,
            producer_metrics,
        ),
        publisher=publisher,
        store=store,
        metrics=producer_metrics,
        stop=stop,
    )
    for name, check in runner.health_checks().items():
        probes.add(name, check)
    probes.running()
    runtime.tune_garbage_collector()
    try:
        return runner.run()
    except errors.BillingError as exc:  # permanent: e.g. a migration PostgreSQL refuses
        log.error("producer_failed", error=str(exc))
        return 1
    finally:
        publisher.close()
        store.close()
        transport.close()
        if server is not None:
            server.stop()
