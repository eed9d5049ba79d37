"""The real reporter runs with a database role that may only read, and its reports are right."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import orjson
import psycopg2
import pytest
from psycopg2 import sql

from reporter import client
from tests.support import event_rows, processes
from tests.support.wait import wait_until

T0 = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture
def readonly_url(database_url: str) -> Iterator[str]:
    """A login role with SELECT on the tables only, read-only by default; dropped after."""
    name = f"pb_reader_{uuid.uuid4().hex[:10]}"
    database = urlsplit(database_url).path.lstrip("/")
    admin = psycopg2.connect(database_url)
    admin.autocommit = True
    role = sql.Identifier(name)
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
        cursor.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), role)
        )
        cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role))
        cursor.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(role))
        cursor.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(role))
    parts = urlsplit(database_url)
    netloc = f"{name}@{parts.hostname}:{parts.port or 5432}"
    try:
        yield urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    finally:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP OWNED BY {}").format(role))
            cursor.execute(sql.SQL("DROP ROLE {}").format(role))
        admin.close()


def test_readonly_reporter_answers_with_a_select_only_role(
    readonly_url: str, database_url: str, amqp_url: str
) -> None:
    conn = psycopg2.connect(readonly_url)
    with pytest.raises(psycopg2.Error), conn.cursor() as cursor:  # the role really cannot write
        cursor.execute("DELETE FROM app_usage_events")
    conn.close()
    history = event_rows.History()
    history.app(
        T0 - timedelta(days=1), "STARTED", process_guid="p" * 36, app_name="shop",
        org_guid="org-a", space_guid="space-a", instance_count=2,
    )  # fmt: skip
    event_rows.insert(database_url, history)
    env = {"DATABASE_URL": readonly_url, "AMQP_URL": amqp_url, "LOG_LEVEL": "INFO"}
    with processes.running(processes.python_module("reporter", env)) as reporter:
        wait_until(lambda: "reporter_listening" in reporter.logs(), what="reporter listening")
        body = {"from": "2026-10-01T00:00:00Z", "to": "2026-10-02T00:00:00Z"}
        reply = client.call(amqp_url, orjson.dumps(body), 30)
        assert reply is not None and reply["status"] == "ok", reply
        assert reply["report"]["totals"]["memory_gb_hours"] == 48.0
        assert [row["resource_name"] for row in reply["report"]["rows"]] == ["shop"]
        assert "migrations_skipped" in reporter.logs()
        assert reporter.stop() == 0
