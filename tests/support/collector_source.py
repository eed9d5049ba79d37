"""A source database laid out as the original Go collector laid it out, for import tests.

alphagov/paas-billing db/sql/010_create_app_usage_events.sql and 020_create_service_usage_events
.sql: `id SERIAL, guid CHAR(36) UNIQUE, created_at TIMESTAMP, raw_message JSONB` and an index
on id; created_at without time zone, in UTC; NULLs allowed (until 052 made them NOT NULL). A
later version had `guid uuid` and `timestamptz`. The database's own time zone is set to New
York, so that an import reading its timestamps in the session's zone would shift them.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg2

from tests.support import services
from tests.support.event_rows import AppEvent, History, ServiceEvent


@dataclass(frozen=True)
class Layout:
    """Column types of a collector's tables."""

    guid: str
    created_at: str


# The original collector's tables (migrations 010 and 020).
ORIGINAL = Layout(guid="CHAR(36)", created_at="TIMESTAMP")
# A later version's.
LATER = Layout(guid="uuid", created_at="timestamptz")
TABLES = ("app_usage_events", "service_usage_events")
# A source row: id, guid, created_at (aware, UTC), raw_message as JSON text; any may be None
# but the id.
SourceRow = tuple[int, str | None, datetime | None, str | None]


@contextmanager
def collector_database(
    admin_url: str, layout: Layout = ORIGINAL, tables: Iterable[str] = TABLES
) -> Iterator[str]:
    """A new database `import_<hex>` with the collector's tables; its URL; dropped after."""
    name = f"import_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
            cursor.execute(f"ALTER DATABASE \"{name}\" SET timezone = 'America/New_York'")
        url = services.with_database(admin_url, name)
        conn = psycopg2.connect(url)
        with conn, conn.cursor() as cursor:
            for table in tables:
                cursor.execute(
                    f"CREATE TABLE {table} (id SERIAL, guid {layout.guid} UNIQUE, "
                    f"created_at {layout.created_at}, raw_message JSONB)"
                )
                cursor.execute(f"CREATE INDEX ON {table} (id)")
        conn.close()
        yield url
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def rows_of(events: Iterable[AppEvent | ServiceEvent]) -> list[SourceRow]:
    """The source rows of events: their id, guid, time and v2 entity."""
    return [(e.id, e.guid, e.created_at, orjson.dumps(e.entity()).decode()) for e in events]


def fill(url: str, history: History) -> None:
    """Write a history's events as the collector stored them (ids as the history numbers
    them: it listed the API in order). A table with no events is left alone."""
    for table, events in (
        ("app_usage_events", history.apps),
        ("service_usage_events", history.services),
    ):
        if events:
            write(url, table, rows_of(events))


def write(url: str, table: str, rows: list[SourceRow]) -> None:
    """COPY rows into a source table; created_at as the column wants it (naive UTC for a
    timestamp without time zone)."""
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_name = %s AND column_name = 'created_at'",
                (table,),
            )
            row = cursor.fetchone()
            naive = row is not None and row[0] == "timestamp without time zone"
            cursor.execute("SET TIME ZONE 'UTC'")
            cursor.copy_expert(
                f"COPY {table} (id, guid, created_at, raw_message) FROM STDIN",
                io.BytesIO(_copy_text(rows, naive)),
            )
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"greatest(coalesce(max(id), 0), 1)) FROM {table}"
            )
    finally:
        conn.close()


def _copy_text(rows: list[SourceRow], naive: bool) -> bytes:
    lines = []
    for source_id, guid, created_at, raw in rows:
        when: Any = None
        if created_at is not None:
            utc = created_at.astimezone(UTC)
            when = utc.replace(tzinfo=None).isoformat() if naive else utc.isoformat()
        fields = [str(source_id), guid, when, raw]
        lines.append("\t".join(_text(value) for value in fields))
    return ("\n".join(lines) + "\n").encode() if lines else b""


def _text(value: str | None) -> str:
    if value is None:
        return "\\N"
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )
