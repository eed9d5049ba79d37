"""`python -m tenant_api` / `paas-billing api`: wire the API together and serve it."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import structlog
from prometheus_client import CollectorRegistry

from reporter import startup
from shared import health, logging, metrics, settings, shutdown
from shared.transport import Transport
from tenant_api.app import create_app
from tenant_api.dashboard import sealing
from tenant_api.dashboard.figures import Figures
from tenant_api.dashboard.oauth import UaaClient
from tenant_api.dashboard.sessions import Sessions
from tenant_api.dashboard.state import Dashboard
from tenant_api.dependencies import Services
from tenant_api.metrics import ApiMetrics
from tenant_api.pool import Pool
from tenant_api.reports import Reports
from tenant_api.roles import OrgRoles
from tenant_api.server import ApiServer
from tenant_api.settings import ApiSettings
from tenant_api.token_keys import TokenKeys

# Exit code when the schema cannot be used: newer than this code, or a migration refused.
EXIT_SCHEMA = 1
# Outgoing HTTP connections kept to the UAA and the Cloud Controller.
HTTP_POOL_SIZE = 32
DESCRIPTION = """Serve usage reports over HTTP: GET /v1/usage, /v1/bills, /v1/pricing,
/livez (the server answers), /readyz and /healthz (the database and the UAA's keys),
/openapi.json, and the dashboard's pages at / (with DASHBOARD_CLIENT_ID set).

Environment: DATABASE_URL, CF_API_ADDRESS (required; the API holds no CF credentials: it
verifies each user's UAA token with the UAA's /token_keys and asks the Cloud Controller for
the user's roles with that token); API_PORT (8080); API_HOST (0.0.0.0); METRICS_PORT (unset:
no /metrics); MIGRATE_ON_START (true; false: wait for `paas-billing migrate`); LOG_LEVEL
(INFO); CF_SKIP_SSL_VALIDATION (false); CF_USER_AGENT; API_ROLES_CACHE_TTL (30s);
API_TOKEN_KEYS_REFETCH_INTERVAL (30s); API_DB_CONNECTIONS (4); REPORT_STATEMENT_TIMEOUT
(60s); DASHBOARD_CLIENT_ID, DASHBOARD_CLIENT_SECRET, DASHBOARD_URL (unset),
DASHBOARD_SESSION_TTL (8h), DASHBOARD_SESSION_KEY (unset: derived from
DASHBOARD_CLIENT_SECRET). First SIGTERM finishes the requests in hand; a second exits at
once."""


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="paas-billing api",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).parse_args(argv)
    config = settings.load(ApiSettings)
    logging.configure(config.log_level)
    stop = shutdown.StopSignal("stopping before serving").install()
    registry = CollectorRegistry()
    metrics.register_process(registry, "api")
    probes = health.Probes(stop)
    probes.add("database", lambda: startup.database_reachable(config.database_url))
    exposed = metrics.serve(config.metrics_port, registry, probes.checks)
    try:
        if not startup.prepare_schema(config.database_url, config.migrate_on_start, stop):
            return 0 if stop.is_set() else EXIT_SCHEMA
        return serve(config, registry, probes, stop)
    finally:
        if exposed is not None:
            exposed.stop()


def serve(
    config: ApiSettings,
    registry: CollectorRegistry,
    probes: health.Probes,
    stop: shutdown.StopSignal,
) -> int:
    log = structlog.get_logger()
    api_metrics = ApiMetrics(registry)
    transport = Transport(
        config.cf_user_agent,
        verify_tls=not config.cf_skip_ssl_validation,
        pool_size=HTTP_POOL_SIZE,
    )
    keys = TokenKeys(
        transport,
        config.cf_api_address,
        config.api_token_keys_refetch_interval.total_seconds(),
    )
    roles = OrgRoles(transport, config.cf_api_address, config.api_roles_cache_ttl.total_seconds())
    timeout = config.report_statement_timeout.total_seconds()
    pool = Pool(config.database_url, config.api_db_connections, wait=timeout)
    reports = Reports(pool, int(timeout * 1000), api_metrics)

    probes.add("uaa", keys.ready)
    probes.schema.set()  # liveness is the HTTP server's own /livez, not the stop signal

    def readiness() -> dict[str, bool]:
        return health.results(probes.checks)

    dashboard = board(config, transport, reports)
    app = create_app(Services(keys, roles, reports, api_metrics, readiness, dashboard))
    log.info("api_starting", port=config.api_port, metrics_port=config.metrics_port)
    try:
        if not stop.is_set():
            ApiServer(app, config.api_host, config.api_port, grace_seconds=timeout).run()
    finally:
        pool.close()
        transport.close()
    log.info("api_stopped")
    return 0


def board(config: ApiSettings, transport: Transport, reports: Reports) -> Dashboard:
    """The dashboard's collaborators; without DASHBOARD_CLIENT_ID nobody can sign in."""
    uaa = None
    if config.dashboard_client_id and config.dashboard_client_secret and config.dashboard_url:
        uaa = UaaClient(
            transport,
            config.cf_api_address,
            config.dashboard_client_id,
            config.dashboard_client_secret,
            config.dashboard_url,
        )
    timeout_ms = int(config.report_statement_timeout.total_seconds() * 1000)
    secret = config.dashboard_client_secret
    sealer = sealing.for_settings(
        config.dashboard_session_keys, secret.get_secret_value() if secret else None
    )
    return Dashboard(
        Sessions(sealer, config.dashboard_session_ttl.total_seconds()),
        Figures(reports, timeout_ms),
        uaa,
        secure_cookies=(config.dashboard_url or "").startswith("https://"),
        now=lambda: datetime.now(UTC),
    )
