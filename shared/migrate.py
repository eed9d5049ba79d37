"""Schema migrations: ordered SQL files applied once each, under an advisory lock.

Every process needs the schema of its own code. At start it either applies what is missing
(MIGRATE_ON_START=true, the default: the contract's "every process applies it at start") or
waits, changing nothing, until `paas-billing migrate` (a Kubernetes Job, a CF task) has done
it. Either way it refuses to run on a schema that a newer paas-billing migrated: versions
the database records that this code does not know.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import resources

import structlog

from shared import db, errors
from shared.backoff import Backoff

log = structlog.get_logger()

# Advisory lock key held while migrating, so concurrent starts apply each file once.
MIGRATION_LOCK_KEY = 7_243_001
# Where the ordered migration files live.
MIGRATIONS_PACKAGE = "shared.sql.migrations"


@dataclass(frozen=True)
class SchemaState:
    """How the database's schema compares with this code's migrations."""

    missing: tuple[str, ...]  # versions this code has and the database lacks
    unknown: tuple[str, ...]  # versions the database records that this code does not know

    @property
    def current(self) -> bool:
        return not self.missing and not self.unknown


def migration_files() -> list[tuple[str, str]]:
    """(version, sql) for every migration file, in order."""
    folder = resources.files(MIGRATIONS_PACKAGE)
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(name.removesuffix(".sql"), folder.joinpath(name).read_text("utf-8")) for name in names]


def code_versions() -> list[str]:
    """The versions this code's migrations bring the schema to, in order."""
    return [version for version, _ in migration_files()]


def state(url: str) -> SchemaState:
    """Compare the database with this code, reading only (a read-only role may ask)."""
    queries = db.load_queries("shared.sql", "migrate.sql")
    conn = db.connect(url, application_name="paas-billing-schema", readonly=True)
    try:
        with db.transaction(conn) as cursor:
            cursor.execute(queries["migrations_table_exists"])
            row = cursor.fetchone()
            recorded: set[str] = set()
            if row is not None and row[0]:
                cursor.execute(queries["applied_versions"])
                recorded = {r[0] for r in cursor.fetchall()}
    finally:
        db.close_quietly(conn)
    known = code_versions()
    return SchemaState(
        missing=tuple(v for v in known if v not in recorded),
        unknown=tuple(sorted(recorded - set(known))),
    )


def refuse_newer(schema: SchemaState) -> None:
    """Raise SchemaTooNew, naming the versions, when a newer paas-billing migrated it."""
    if schema.unknown:
        raise errors.SchemaTooNew(
            f"the database has migrations {', '.join(schema.unknown)} that this paas-billing "
            f"(which knows up to {code_versions()[-1]}) does not: run the newer version"
        )


def apply(url: str) -> list[str]:
    """Bring the schema up to date; return the versions applied now (empty when current).

    Raises SchemaTooNew, changing nothing, when a newer paas-billing migrated it."""
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
    files = migration_files()
    refuse_newer(SchemaState((), tuple(sorted(done - {v for v, _ in files}))))
    applied: list[str] = []
    for version, sql in files:
        if version in done:
            continue
        log.info("migration_started", version=version)
        with db.transaction(conn) as cursor:
            cursor.execute(sql)
            cursor.execute(queries["record_version"], {"version": version})
        log.info("migration_applied", version=version)
        applied.append(version)
    return applied


def apply_when_reachable(url: str, stop: threading.Event, backoff: Backoff) -> bool:
    """Apply migrations, waiting with backoff while PostgreSQL is unreachable (logging
    `waiting_for_database`); False when `stop` was set meanwhile. A refused migration
    (DatabaseError) and a newer schema (SchemaTooNew) are raised: waiting would not help."""
    while not stop.is_set():
        try:
            apply(url)
            return True
        except errors.DatabaseUnavailable as exc:
            wait = backoff.next_delay()
            log.warning(
                "waiting_for_database", error=str(exc), retry_in_s=round(wait, 3), to="migrate"
            )
            stop.wait(wait)
    return False


def wait_until_current(url: str, stop: threading.Event, backoff: Backoff) -> bool:
    """Wait, changing nothing, until the schema is this code's (`paas-billing migrate` ran);
    False when `stop` was set meanwhile. Raises SchemaTooNew at once for a newer schema."""
    said: SchemaState | None = None
    while not stop.is_set():
        try:
            schema = state(url)
        except errors.DatabaseUnavailable as exc:
            wait = backoff.next_delay()
            log.warning("waiting_for_database", error=str(exc), retry_in_s=round(wait, 3))
            stop.wait(wait)
            continue
        refuse_newer(schema)
        if schema.current:
            return True
        if schema != said:
            log.warning(
                "waiting_for_schema",
                missing=list(schema.missing),
                action="run `paas-billing migrate` (the migration Job); nothing is changed here",
            )
            said = schema
        stop.wait(backoff.next_delay())
    return False


# SQLSTATEs of a role that may not migrate: insufficient privilege, a read-only transaction.
_MAY_NOT_MIGRATE = ("42501", "25006")


def prepare(url: str, *, apply_at_start: bool, stop: threading.Event, backoff: Backoff) -> bool:
    """A process's start-up schema step: True once the schema is this code's, False when
    stopped meanwhile. With `apply_at_start` it applies what is missing; a role that may not
    migrate (a read-only reporter) then waits like one started with MIGRATE_ON_START=false.
    Raises SchemaTooNew for a newer schema, and DatabaseError for a migration refused."""
    if apply_at_start:
        try:
            return apply_when_reachable(url, stop, backoff)
        except errors.DatabaseError as exc:
            if exc.sqlstate not in _MAY_NOT_MIGRATE:
                raise
            log.warning(
                "migrations_skipped",
                reason="this database role may not migrate; waiting for the schema instead",
                error=str(exc),
            )
    return wait_until_current(url, stop, backoff)
