"""Schema migrations: ordered SQL files applied once each, under an advisory lock."""

from __future__ import annotations

import threading
from importlib import resources

import structlog

from shared import db, errors
from shared.backoff import Backoff

log = structlog.get_logger()

# Advisory lock key held while migrating, so concurrent starts apply each file once.
MIGRATION_LOCK_KEY = 7_243_001
# Where the ordered migration files live.
MIGRATIONS_PACKAGE = "shared.sql.migrations"


def migration_files() -> list[tuple[str, str]]:
    """(version, sql) for every migration file, in order."""
    folder = resources.files(MIGRATIONS_PACKAGE)
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(name.removesuffix(".sql"), folder.joinpath(name).read_text("utf-8")) for name in names]


def apply(url: str) -> list[str]:
    """Bring the schema up to date; return the versions applied now (empty when current)."""
    queries = db.load_queries("shared.sql", "migrate.sql")
    conn = db.connect(url, application_name="paas-billing-migrate")
    try:
        with db.transaction(conn) as cursor:
            cursor.execute(queries["lock"], {"key": MIGRATION_LOCK_KEY})
        try:
            return _apply_missing(conn, queries)
        finally:
            with db.transaction(conn) as cursor:
                cursor.execute(queries["unlock"], {"key": MIGRATION_LOCK_KEY})
    finally:
        db.close_quietly(conn)


def _apply_missing(conn: db.Connection, queries: dict[str, str]) -> list[str]:
    with db.transaction(conn) as cursor:
        cursor.execute(queries["create_migrations_table"])
        cursor.execute(queries["applied_versions"])
        done = {row[0] for row in cursor.fetchall()}
    applied: list[str] = []
    for version, sql in migration_files():
        if version in done:
            continue
        with db.transaction(conn) as cursor:
            cursor.execute(sql)
            cursor.execute(queries["record_version"], {"version": version})
        log.info("migration_applied", version=version)
        applied.append(version)
    return applied


def apply_when_reachable(url: str, stop: threading.Event, backoff: Backoff) -> bool:
    """Apply migrations, waiting with backoff while PostgreSQL is unreachable (logging
    `waiting_for_database`); False when `stop` was set meanwhile. A refused migration
    (DatabaseError) is raised: waiting would not help."""
    while not stop.is_set():
        try:
            apply(url)
            return True
        except errors.DatabaseUnavailable as exc:
            wait = backoff.next_delay()
            log.warning(
                "waiting_for_database", error=str(exc), wait_seconds=round(wait, 3), to="migrate"
            )
            stop.wait(wait)
    return False
