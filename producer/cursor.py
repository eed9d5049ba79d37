"""Where the producer stands per (foundation, kind), kept in PostgreSQL.

The cursor names the last event the broker has confirmed; it is saved only after that
confirmation. The store also records collection gaps and holds the per-foundation
advisory lock that makes the producer a singleton.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from pydantic import BaseModel, ConfigDict, Field

from shared import db, errors
from shared.states import EventKind

log = structlog.get_logger()


class Cursor(BaseModel):
    """The last event handed over (confirmed), its time, and its sequence number."""

    model_config = ConfigDict(frozen=True)

    after_guid: str | None = None
    last_created_at: datetime | None = None
    # Sequence number of the event `after_guid`; the next event gets sequence + 1.
    sequence: int = Field(default=0, ge=0)


class Gap(BaseModel):
    """A period that may be incomplete: the API lost our cursor and we restarted."""

    model_config = ConfigDict(frozen=True)

    lost_guid: str
    gap_from: datetime | None
    gap_to: datetime | None
    resumed_guid: str | None
    reason: str


class CursorStore:
    """One PostgreSQL connection: the foundation lock, cursors and gaps."""

    def __init__(self, database_url: str, foundation: str) -> None:
        self._url = database_url
        self._foundation = foundation
        self._queries = db.load_queries("producer.sql", "cursor.sql")
        self._conn: db.Connection | None = None

    def try_lock(self) -> bool:
        """Take the foundation's advisory lock on a fresh connection; False if another has it."""
        self.close()
        self._conn = db.connect(self._url, application_name="paas-billing-producer")
        with db.transaction(self._conn) as cursor:
            cursor.execute(self._queries["session"])
            cursor.execute(self._queries["try_lock"], {"foundation": self._foundation})
            row = cursor.fetchone()
        return bool(row and row[0])

    def healthy(self) -> bool:
        """True while the connection that holds the lock is open."""
        conn = self._conn
        return conn is not None and not db.is_closed(conn)

    def load(self, kind: EventKind) -> Cursor:
        """The saved cursor; on a first run the start (no guid), numbered after the events the
        table already holds for the foundation."""
        params = {"foundation": self._foundation, "kind": kind.value}
        with db.transaction(self._connection()) as cursor:
            cursor.execute(self._queries["load_cursor"], params)
            row = cursor.fetchone()
            if row is None:
                cursor.execute(self._queries[f"first_sequence_{kind.value}"], params)
                first = cursor.fetchone()
        if row is None:
            return Cursor(sequence=first[0] if first else 0)
        return Cursor(after_guid=row[0], last_created_at=row[1], sequence=row[2])

    def save(self, kind: EventKind, position: Cursor) -> None:
        """Move the cursor; raise DatabaseError if it would move the sequence backwards."""
        with db.transaction(self._connection()) as cursor:
            self._save(cursor, kind, position)

    def record_gap(self, kind: EventKind, gap: Gap, position: Cursor) -> None:
        """Record the gap and restart the cursor, in one transaction."""
        with db.transaction(self._connection()) as cursor:
            cursor.execute(
                self._queries["record_gap"],
                {"foundation": self._foundation, "kind": kind.value, **gap.model_dump()},
            )
            self._save(cursor, kind, position)

    def close(self) -> None:
        db.close_quietly(self._conn)
        self._conn = None

    def _save(self, cursor: db.Cursor, kind: EventKind, position: Cursor) -> None:
        cursor.execute(
            self._queries["save_cursor"],
            {"foundation": self._foundation, "kind": kind.value, **position.model_dump()},
        )
        if cursor.fetchone() is None:
            raise errors.DatabaseError(
                f"the saved {kind} cursor of foundation {self._foundation} is ahead of ours "
                "(another producer ran): reloading"
            )

    def _connection(self) -> db.Connection:
        if self._conn is None or db.is_closed(self._conn):
            raise errors.DatabaseUnavailable("the producer's PostgreSQL connection is closed")
        return self._conn
