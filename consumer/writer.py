"""Writes batches of decoded events to PostgreSQL: one transaction, each guid once.

A batch none of whose guids is stored yet is copied straight into the event tables. When
that is refused (a guid stored by an earlier delivery or by another consumer, or a row's
data), it is rolled back to a savepoint and the batch goes through per-session staging
tables and into the event tables with `ON CONFLICT (guid) DO NOTHING`. When PostgreSQL
refuses a row's data there too (a value out of range, a NUL byte), the batch is split in
halves until the refused rows stand alone; those come back with the database's reason and
everything else is stored.
"""

from __future__ import annotations

import io
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from consumer.delivery import Accepted
from shared import db, errors, events
from shared.states import EventKind

# The columns both copies fill, in the order of `copy_app` / `copy_service` in writer.sql.
COMMON_COLUMNS = ("id", "guid", "created_at", "raw_message", "foundation", "api_version")
# Normalized app columns after the common ones.
APP_COLUMNS = (
    "state",
    "previous_state",
    "instance_count",
    "previous_instance_count",
    "memory_in_mb_per_instance",
    "previous_memory_in_mb_per_instance",
    "process_guid",
    "process_type",
    "app_name",
    "parent_app_guid",
    "parent_app_name",
    "space_guid",
    "space_name",
    "org_guid",
    "task_guid",
    "task_name",
    "buildpack_guid",
    "buildpack_name",
)
# Normalized service columns after the common ones.
SERVICE_COLUMNS = (
    "state",
    "org_guid",
    "space_guid",
    "space_name",
    "service_instance_guid",
    "service_instance_name",
    "service_instance_type",
    "service_plan_guid",
    "service_plan_name",
    "service_guid",
    "service_label",
    "service_broker_guid",
    "service_broker_name",
)
log = structlog.get_logger()
# SQLSTATE classes that blame a row's data (22 data exception, 23 integrity violation): the
# row is refused. Anything else (a missing table, a permission) blames the system, and the
# batch is retried rather than dead-lettered.
ROW_FAULT_CLASSES = ("22", "23")
# SQLSTATEs of a transaction PostgreSQL gave up for another's sake (serialization failure,
# deadlock), and how many times a batch is tried at once before the committer's backoff.
ROLLED_BACK = ("40001", "40P01")
ROLLBACK_ATTEMPTS = 3
# COPY text format: the NULL marker and the escapes.
_NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass
class WriteResult:
    """What one write did: rows stored and duplicates skipped per kind, rows refused."""

    stored: dict[EventKind, int] = field(default_factory=lambda: dict.fromkeys(EventKind, 0))
    duplicates: dict[EventKind, int] = field(default_factory=lambda: dict.fromkeys(EventKind, 0))
    refused: list[tuple[int, str]] = field(default_factory=list)
    newest: dict[EventKind, datetime] = field(default_factory=dict)


class Writer:
    """One PostgreSQL connection, reopened when it breaks."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._queries = db.load_queries("consumer.sql", "writer.sql")
        self._conn: db.Connection | None = None

    def close(self) -> None:
        db.close_quietly(self._conn)
        self._conn = None

    def ping(self) -> None:
        """Raise DatabaseUnavailable unless a round trip works."""
        with db.transaction(self._connection()) as cursor:
            cursor.execute(self._queries["ping"])

    def write(self, items: Sequence[Accepted]) -> WriteResult:
        """Store the events; return refused ones by index. Raise on a system-wide failure."""
        result = WriteResult()
        self._write_part(list(enumerate(items)), result)
        for item in items:
            event = item.event
            newest = result.newest.get(event.kind)
            if newest is None or event.row.created_at > newest:
                result.newest[event.kind] = event.row.created_at
        return result

    def _write_part(self, part: list[tuple[int, Accepted]], result: WriteResult) -> None:
        if not part:
            return
        try:
            stored = self._copy_and_move_retried([item for _, item in part])
        except errors.DatabaseError as exc:
            if not is_row_fault(exc):
                raise
            if len(part) == 1:
                result.refused.append((part[0][0], str(exc)))
                return
            middle = len(part) // 2
            self._write_part(part[:middle], result)
            self._write_part(part[middle:], result)
            return
        for kind, count in stored.items():
            total = sum(1 for _, item in part if item.event.kind is kind)
            result.stored[kind] += count
            result.duplicates[kind] += total - count

    def _copy_and_move_retried(self, items: list[Accepted]) -> dict[EventKind, int]:
        """_copy_and_move, run again at once when PostgreSQL gave it up for another writer's
        sake (a deadlock: consumers storing the same redelivered guids in other orders)."""
        attempt = 1
        while True:
            try:
                return self._copy_and_move(items)
            except errors.DatabaseError as exc:
                if attempt == ROLLBACK_ATTEMPTS or sqlstate(exc) not in ROLLED_BACK:
                    raise
                log.info("batch_retried", attempt=attempt, size=len(items), reason=str(exc))
            attempt += 1

    def _copy_and_move(self, items: list[Accepted]) -> dict[EventKind, int]:
        apps = [item for item in items if item.event.kind is EventKind.APP]
        services = [item for item in items if item.event.kind is EventKind.SERVICE]
        stored = dict.fromkeys(EventKind, 0)
        with db.transaction(self._connection()) as cursor:
            if apps:
                stored[EventKind.APP] = self._store(cursor, "app", apps, APP_COLUMNS)
            if services:
                stored[EventKind.SERVICE] = self._store(
                    cursor, "service", services, SERVICE_COLUMNS
                )
        return stored

    def _store(
        self, cursor: db.Cursor, kind: str, items: list[Accepted], columns: tuple[str, ...]
    ) -> int:
        """Store one kind's rows; return how many were new.

        Straight into the event table when none of the guids is stored (one COPY, in a
        savepoint); else, after rolling that back, through the staging table, skipping the
        stored guids (and storing a later purge's reseed rows under derived guids).
        """
        queries = self._queries
        text = copy_text(items, columns)
        cursor.execute(queries["savepoint"])
        refusal = db.copy_or_refusal(cursor, queries[f"copy_{kind}_new"], text)
        if refusal is None:
            count = cursor.rowcount
            cursor.execute(queries["release_savepoint"])
            return count
        cursor.execute(queries["rollback_to_savepoint"])
        log.debug("batch_through_staging", kind=kind, size=len(items), reason=str(refusal))
        text.seek(0)
        cursor.copy_expert(queries[f"copy_{kind}"], text)
        cursor.execute(queries[f"move_{kind}"])
        count = cursor.rowcount
        if any(is_reseed_shaped(item.event) for item in items):
            cursor.execute(queries[f"move_{kind}_reseeds"])
            count += cursor.rowcount
        return count

    def _connection(self) -> db.Connection:
        if self._conn is not None and db.is_closed(self._conn):
            self.close()
        if self._conn is None:
            conn = db.connect(self._url, application_name="paas-billing-consumer")
            try:
                with db.transaction(conn) as cursor:
                    cursor.execute(self._queries["create_app_staging"])
                    cursor.execute(self._queries["create_service_staging"])
            except BaseException:
                db.close_quietly(conn)
                raise
            self._conn = conn
        return self._conn


def is_reseed_shaped(event: events.StoredEvent) -> bool:
    """A purge-and-reseed row: its guid is its process's (app) or its instance's (service).

    A later purge re-emits that guid with a new created_at; `move_*_reseeds` stores it then
    under a guid derived from both (docs/operating.md, "Purge and reseed").
    """
    row = event.row
    if isinstance(row, events.AppRow):
        return row.guid == row.process_guid
    return row.guid == row.service_instance_guid


def is_row_fault(exc: errors.DatabaseError) -> bool:
    """True when PostgreSQL refused a row's data rather than the statement as a whole."""
    return sqlstate(exc)[:2] in ROW_FAULT_CLASSES


def sqlstate(exc: errors.DatabaseError) -> str:
    """The SQLSTATE PostgreSQL gave for the refusal ('' when none)."""
    return getattr(exc.__cause__, "pgcode", None) or ""


def copy_text(items: list[Accepted], columns: tuple[str, ...]) -> io.BytesIO:
    """The rows in COPY text format, UTF-8: tab-separated, `\\N` for NULL, specials escaped.

    A line is first joined from the values as they are. Unless a value held a special (a
    tab, newline, carriage return or backslash beyond the separators and the NULL markers,
    counted on the whole line), that line is right as it stands, and the values are not each
    searched and escaped; otherwise the line is built again with every value escaped.
    """
    normalized = operator.attrgetter(*columns)
    separators = len(COMMON_COLUMNS) + len(columns) - 1
    lines: list[str] = []
    for item in items:
        event = item.event
        row = event.row
        fields = (
            event.sequence,
            row.guid,
            row.created_at.isoformat(),
            event.raw_json,
            event.foundation,
            event.api_version.value,
            *normalized(row),
        )
        line = "\t".join([_NULL if value is None else str(value) for value in fields])
        if (
            line.count("\t") != separators
            or line.count("\\") != fields.count(None)
            or "\n" in line
            or "\r" in line
        ):
            line = "\t".join(
                [
                    _NULL if value is None else _text(value) if type(value) is str else str(value)
                    for value in fields
                ]
            )
        lines.append(line)
    lines.append("")
    # Bytes, not a StringIO: psycopg2 reads a StringIO in chunks that CPython first widens to
    # four bytes a character and psycopg2 then encodes, about 0.5 us a row.
    return io.BytesIO("\n".join(lines).encode())


def _text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value
