"""Writes batches of decoded events to PostgreSQL: one transaction, each guid once.

A batch none of whose guids or sequence numbers is stored yet is copied straight into the
event tables. When that is refused (a guid stored by an earlier delivery or by another
consumer, or a row's data), it is rolled back to a savepoint and the batch goes through
per-session staging tables into the event tables, skipping what is stored; a staging row that
could not be stored for a conflict (its guid stored with other facts, or its sequence number
held by another guid) comes back refused, naming both events, and is logged as an error.
When PostgreSQL refuses a row's data (a value out of range, a NUL byte, an index row too
large), the batch is split in halves until the refused rows stand alone; those come back with
the database's reason and SQLSTATE, and everything else is stored.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

import structlog

from consumer.delivery import Accepted
from shared import db, errors, events
from shared.states import EventKind

# The columns the consumer copies, in the order of the COPY statements in writer.sql: the
# database derives every other column from raw_message (migration 0009).
COLUMNS = ("id", "guid", "created_at", "raw_message", "foundation")
log = structlog.get_logger()
# SQLSTATE classes that blame a row's data (22 data exception, 23 integrity violation, 54
# program limit exceeded, e.g. an index row too large): the row is refused. Anything else (a
# missing table, a permission, an outage) blames the system, and the batch is retried rather
# than dead-lettered.
ROW_FAULT_CLASSES = ("22", "23", "54")
# SQLSTATEs of a transaction PostgreSQL gave up for another's sake (serialization failure,
# deadlock), and how many times a batch is tried at once before the committer's backoff.
ROLLED_BACK = ("40001", "40P01")
ROLLBACK_ATTEMPTS = 3
# COPY text format: the escapes.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class WriteResult:
    """What one write did: rows stored and duplicates skipped per kind, rows refused (by
    index, with the reason), conflicts and unusual times per kind, the newest time per kind."""

    stored: dict[EventKind, int] = field(default_factory=lambda: dict.fromkeys(EventKind, 0))
    duplicates: dict[EventKind, int] = field(default_factory=lambda: dict.fromkeys(EventKind, 0))
    refused: list[tuple[int, str]] = field(default_factory=list)
    conflicts: dict[EventKind, int] = field(default_factory=lambda: dict.fromkeys(EventKind, 0))
    unusual_times: dict[EventKind, int] = field(default_factory=lambda: dict.fromkeys(EventKind, 0))
    newest: dict[EventKind, datetime] = field(default_factory=dict)


class Conflict(NamedTuple):
    """A staging row not stored because another event holds its guid or its sequence."""

    guid: str
    sequence: int
    foundation: str
    held_guid: str
    held_sequence: int
    what: str  # 'content' or 'sequence'

    def reason(self) -> str:
        if self.what == "content":
            return (
                f"guid {self.guid} is stored already (sequence {self.held_sequence}) with "
                f"other facts; this copy (sequence {self.sequence}) is set aside"
            )
        return (
            f"sequence {self.sequence} of foundation {self.foundation} is held by event "
            f"{self.held_guid}; event {self.guid} is set aside"
        )


class Writer:
    """One PostgreSQL connection, reopened when it breaks."""

    def __init__(self, url: str, clock: Callable[[], datetime] = utc_now) -> None:
        self._url = url
        self._clock = clock
        self._queries = db.load_queries("consumer.sql", "writer.sql")
        self._conn: db.Connection | None = None

    def close(self) -> None:
        db.close_quietly(self._conn)
        self._conn = None

    def write(self, items: Sequence[Accepted]) -> WriteResult:
        """Store the events; return refused ones by index. Raise on a system-wide failure."""
        result = WriteResult()
        self._write_part(list(enumerate(items)), result)
        refused = {index for index, _ in result.refused}
        now = self._clock()
        for index, item in enumerate(items):
            event = item.event
            newest = result.newest.get(event.kind)
            if newest is None or event.created_at > newest:
                result.newest[event.kind] = event.created_at
            if index not in refused and not events.is_usual_time(event.created_at, now):
                result.unusual_times[event.kind] += 1
                log.warning(
                    "event_time_unusual",
                    guid=event.guid,
                    kind=event.kind.value,
                    foundation=event.foundation,
                    created_at=event.created_at.isoformat(),
                    reason="before usage events began or more than a day ahead; stored",
                )
        return result

    def _write_part(self, part: list[tuple[int, Accepted]], result: WriteResult) -> None:
        if not part:
            return
        try:
            stored, conflicts = self._copy_and_move_retried([item for _, item in part])
        except errors.DatabaseError as exc:
            if not is_row_fault(exc):
                raise
            if len(part) == 1:
                result.refused.append((part[0][0], f"{exc} (SQLSTATE {exc.sqlstate})"))
                return
            middle = len(part) // 2
            self._write_part(part[:middle], result)
            self._write_part(part[middle:], result)
            return
        by_guid = {item.event.guid: (index, item.event) for index, item in part}
        for conflict in conflicts:
            index, event = by_guid[conflict.guid]
            result.refused.append((index, conflict.reason()))
            result.conflicts[event.kind] += 1
            log.error(
                "event_conflict",
                what=conflict.what,
                guid=conflict.guid,
                sequence=conflict.sequence,
                held_guid=conflict.held_guid,
                held_sequence=conflict.held_sequence,
                foundation=conflict.foundation,
                kind=event.kind.value,
                kept="the stored event",
            )
        for kind, count in stored.items():
            total = sum(1 for _, item in part if item.event.kind is kind)
            unstored = sum(1 for c in conflicts if by_guid[c.guid][1].kind is kind)
            result.stored[kind] += count
            result.duplicates[kind] += total - count - unstored

    def _copy_and_move_retried(
        self, items: list[Accepted]
    ) -> tuple[dict[EventKind, int], list[Conflict]]:
        """_copy_and_move, run again at once when PostgreSQL gave it up for another writer's
        sake (a deadlock: consumers storing the same redelivered guids in other orders)."""
        attempt = 1
        while True:
            try:
                return self._copy_and_move(items)
            except errors.DatabaseError as exc:
                if attempt == ROLLBACK_ATTEMPTS or exc.sqlstate not in ROLLED_BACK:
                    raise
                log.info("batch_retried", attempt=attempt, size=len(items), reason=str(exc))
            attempt += 1

    def _copy_and_move(self, items: list[Accepted]) -> tuple[dict[EventKind, int], list[Conflict]]:
        stored = dict.fromkeys(EventKind, 0)
        conflicts: list[Conflict] = []
        with db.transaction(self._connection()) as cursor:
            for kind in EventKind:
                mine = [item for item in items if item.event.kind is kind]
                if mine:
                    stored[kind] = self._store(cursor, kind.value, mine, conflicts)
        return stored, conflicts

    def _store(
        self, cursor: db.Cursor, kind: str, items: list[Accepted], conflicts: list[Conflict]
    ) -> int:
        """Store one kind's rows; return how many were new, adding conflicts to `conflicts`.

        Straight into the event table when none of the guids or sequences is stored (one
        COPY, in a savepoint); else, after rolling that back, through the staging table,
        skipping what is stored (and storing a later purge's reseed rows under derived guids).
        """
        queries = self._queries
        text = copy_text(items)
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
        cursor.execute(queries[f"move_{kind}_reseeds"])
        count += cursor.rowcount
        cursor.execute(queries[f"{kind}_conflicts"])
        conflicts.extend(Conflict(*row) for row in cursor.fetchall())
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


def is_row_fault(exc: errors.DatabaseError) -> bool:
    """True when PostgreSQL refused a row's data rather than the statement as a whole."""
    return exc.sqlstate[:2] in ROW_FAULT_CLASSES


def copy_text(items: list[Accepted]) -> io.BytesIO:
    """The rows in COPY text format, UTF-8: tab-separated, specials escaped.

    A line is first joined from the values as they are. Unless a value held a special (a
    tab, newline, carriage return or backslash beyond the separators, counted on the whole
    line), that line is right as it stands, and the values are not each searched and
    escaped; otherwise the line is built again with every value escaped. No value is NULL.
    """
    separators = len(COLUMNS) - 1
    lines: list[str] = []
    for item in items:
        event = item.event
        fields = (
            str(event.sequence),
            event.guid,
            event.created_at.isoformat(),
            event.raw_json,
            event.foundation,
        )
        line = "\t".join(fields)
        if line.count("\t") != separators or "\\" in line or "\n" in line or "\r" in line:
            line = "\t".join([_text(value) for value in fields])
        lines.append(line)
    lines.append("")
    # Bytes, not a StringIO: psycopg2 reads a StringIO in chunks that CPython first widens to
    # four bytes a character and psycopg2 then encodes (docs/architecture.md, "Hot paths").
    return io.BytesIO("\n".join(lines).encode())


def _text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value
