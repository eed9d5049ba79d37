"""Start-up chores of the reporter and the API: the schema step, a database health check."""

from __future__ import annotations

import threading

import structlog

from shared import db, errors, migrate
from shared.backoff import Backoff

log = structlog.get_logger()

# Seconds between start-up attempts while the database is unreachable (at most).
MAX_START_WAIT_SECONDS = 30.0
_QUERIES = db.load_queries("reporter.sql", "usage.sql")


def prepare_schema(url: str, apply_at_start: bool, stop: threading.Event) -> bool:
    """The schema step (`shared.migrate.prepare`): apply what is missing, or wait for it
    (MIGRATE_ON_START=false, or a read-only role). False when stopped meanwhile or when the
    schema cannot be used (newer than this code, a migration refused), which is logged."""
    try:
        return migrate.prepare(
            url,
            apply_at_start=apply_at_start,
            stop=stop,
            backoff=Backoff(cap=MAX_START_WAIT_SECONDS, base=1.0),
        )
    except errors.BillingError as exc:
        log.error("schema_not_usable", error=str(exc))
        return False


def database_reachable(url: str) -> bool:
    """Health check: a fresh connection answers SELECT 1."""
    try:
        conn = db.connect(url, application_name="paas-billing-reporter-health")
    except errors.DatabaseUnavailable:
        return False
    try:
        with db.transaction(conn) as cursor:
            cursor.execute(_QUERIES["ping"])
            return cursor.fetchone() == (1,)
    except errors.BillingError:
        return False
    finally:
        db.close_quietly(conn)
