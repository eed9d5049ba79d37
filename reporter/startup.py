"""Start-up chores: bring the schema up to date (or accept it read-only), signal handling."""

from __future__ import annotations

import threading

import structlog

from shared import db, errors, migrate
from shared.backoff import Backoff

log = structlog.get_logger()

# Seconds between start-up attempts while the database is unreachable (at most).
MAX_START_WAIT_SECONDS = 30.0
_QUERIES = db.load_queries("reporter.sql", "usage.sql")


def prepare_schema(url: str, stop: threading.Event) -> bool:
    """Apply migrations; a read-only role may skip them when the schema is already current.

    Waits (with backoff) while the database is unreachable; False when stopped meanwhile
    or when the schema is behind and cannot be migrated.
    """
    try:
        return migrate.apply_when_reachable(
            url, stop, Backoff(cap=MAX_START_WAIT_SECONDS, base=1.0)
        )
    except errors.DatabaseError as exc:
        return _schema_current(url, str(exc))


def _schema_current(url: str, why: str) -> bool:
    conn = db.connect(url, application_name="paas-billing-reporter", readonly=True)
    try:
        with db.transaction(conn) as cursor:
            cursor.execute(_QUERIES["applied_versions"])
            applied = {row[0] for row in cursor.fetchall()}
    except errors.DatabaseError:
        applied = set()
    finally:
        db.close_quietly(conn)
    missing = [v for v, _ in migrate.migration_files() if v not in applied]
    if missing:
        log.error("schema_not_current", missing=missing, migrate_error=why)
        return False
    log.warning("migrations_skipped", reason="cannot migrate; schema already current", error=why)
    return True


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
