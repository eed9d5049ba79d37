"""The schema at start: processes wait for the migration Job instead of racing to build it
(MIGRATE_ON_START=false), and nothing runs on a schema that a newer paas-billing migrated."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import psycopg2
import pytest
import requests

from shared import errors, migrate
from tests.support import processes, services
from tests.support.wait import wait_until

# A migration version no release of this code has: what a newer paas-billing would record.
FUTURE_VERSION = "9999_from_a_newer_release"


@pytest.fixture
def empty_database_url(postgres_admin_url: str) -> Iterator[str]:
    """A database of this test's own with no schema at all; dropped after."""
    with services.fresh_database(postgres_admin_url) as url:
        yield url


def _record(url: str, version: str) -> None:
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cursor:
        cursor.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
    conn.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _status(port: int, path: str) -> int:
    try:
        return requests.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code
    except requests.ConnectionError:
        return 0


def test_schema_state_names_what_is_missing_and_what_is_unknown(
    empty_database_url: str, database_url: str
) -> None:
    assert migrate.state(empty_database_url).missing == tuple(migrate.code_versions())
    assert migrate.state(database_url).current
    _record(database_url, FUTURE_VERSION)
    assert migrate.state(database_url).unknown == (FUTURE_VERSION,)


def test_migrate_refuses_a_schema_newer_than_the_code(database_url: str) -> None:
    _record(database_url, FUTURE_VERSION)
    with pytest.raises(errors.SchemaTooNew, match=FUTURE_VERSION):
        migrate.apply(database_url)
    result = subprocess.run(
        [sys.executable, "-m", "paas_billing", "migrate"],
        env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert FUTURE_VERSION in result.stderr + result.stdout


@pytest.mark.parametrize("module", ["consumer", "reporter"])
def test_process_refuses_to_start_on_a_newer_schema(
    database_url: str, amqp_url: str, module: str
) -> None:
    _record(database_url, FUTURE_VERSION)
    env = {"DATABASE_URL": database_url, "AMQP_URL": amqp_url, "LOG_LEVEL": "INFO"}
    with processes.running(processes.python_module(module, env)) as process:
        code = process.popen.wait(timeout=60)
        assert code == 1, process.logs()
        assert "schema_not_usable" in process.logs() and FUTURE_VERSION in process.logs()


def test_process_waits_for_the_migration_job_and_changes_nothing(
    empty_database_url: str, amqp_url: str
) -> None:
    """MIGRATE_ON_START=false: alive (liveness 200) but not ready (readiness 503) until
    `paas-billing migrate` ran, creating nothing meanwhile; then ready."""
    port = _free_port()
    env = {
        "DATABASE_URL": empty_database_url,
        "AMQP_URL": amqp_url,
        "METRICS_PORT": str(port),
        "MIGRATE_ON_START": "false",
    }
    with processes.running(processes.python_module("consumer", env)) as consumer:
        wait_until(lambda: "waiting_for_schema" in consumer.logs(), timeout=60, what="a wait")
        assert _status(port, "/livez") == 200
        assert _status(port, "/readyz") == 503
        assert migrate.state(empty_database_url).missing == tuple(migrate.code_versions())
        applied = subprocess.run(
            [sys.executable, "-m", "paas_billing", "migrate"],
            env={"DATABASE_URL": empty_database_url, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            timeout=300,
        )
        assert applied.returncode == 0, applied.stderr
        wait_until(lambda: _status(port, "/readyz") == 200, timeout=60, what="readiness")
        assert _status(port, "/livez") == 200
        assert consumer.stop() == 0
