"""The migrations produce exactly schema.sql, and migrating is idempotent and concurrent-safe."""

from __future__ import annotations

import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from importlib import resources

import psycopg2
import pytest

from shared import migrate
from tests.support import services


def _dump(url: str) -> str:
    result = subprocess.run(
        [
            "pg_dump",
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            "--exclude-table=schema_migrations",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return "\n".join(
        line
        for line in result.stdout.splitlines()
        if line.strip()
        and not line.startswith(("--", "SET ", "SELECT pg_catalog", "\\restrict", "\\unrestrict"))
    )


@pytest.fixture
def empty_database(postgres_admin_url: str) -> Iterator[str]:
    name = f"pb_empty_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(postgres_admin_url)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield services.with_database(postgres_admin_url, name)
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
def test_schema_migrations_equal_schema_sql(database_url: str, empty_database: str) -> None:
    schema = resources.files("shared.sql").joinpath("schema.sql").read_text("utf-8")
    conn = psycopg2.connect(empty_database)
    with conn, conn.cursor() as cursor:
        cursor.execute(schema)
    conn.close()
    assert _dump(database_url) == _dump(empty_database)


def test_schema_migrate_twice_is_harmless(database_url: str) -> None:
    assert migrate.apply(database_url) == []
    assert migrate.apply(database_url) == []


def test_schema_concurrent_migrations_apply_each_file_once(empty_database: str) -> None:
    results: list[list[str]] = []
    threads = [
        threading.Thread(target=lambda: results.append(migrate.apply(empty_database)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    applied = [version for result in results for version in result]
    assert sorted(applied) == [version for version, _ in migrate.migration_files()]


def test_db_statement_timeout_is_an_error_not_an_outage(database_url: str) -> None:
    from shared import db, errors

    conn = db.connect(database_url)
    try:
        with pytest.raises(errors.DatabaseError) as raised, db.transaction(conn) as cursor:
            cursor.execute("SET LOCAL statement_timeout = 50")
            cursor.execute("SELECT pg_sleep(2)")
        assert not isinstance(raised.value, errors.DatabaseUnavailable)
    finally:
        db.close_quietly(conn)


def test_db_deadlock_is_an_error_not_an_outage() -> None:
    """psycopg2 files a deadlock under OperationalError, like a lost connection: only this
    transaction was given up, so it is a refusal that running again may get past."""
    from shared import db, errors

    for cls in (psycopg2.errors.DeadlockDetected, psycopg2.errors.SerializationFailure):
        translated = db.translate(cls("deadlock detected"))
        assert type(translated) is errors.DatabaseError, cls
    lost = db.translate(psycopg2.OperationalError("server closed the connection"))
    assert isinstance(lost, errors.DatabaseUnavailable)
