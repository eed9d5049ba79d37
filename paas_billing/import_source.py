"""The source of an import: the original collector's event tables, read in id order.

Rows pass through as PostgreSQL's COPY text, never decoded here: this database derives and
checks everything (the same way it treats an operator's INSERT). Each read is its own short
read-only transaction, so an old collector still writing to the source is not held up.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared import db, errors
from shared.states import EventKind

# The source's table per event kind (the original collector's names).
TABLES = {EventKind.APP: "app_usage_events", EventKind.SERVICE: "service_usage_events"}
# Below every id: where reading starts (the lowest bigint but one, so that the literal is a
# bigint and the source's id index serves the comparison).
BEFORE_ANY_ID = -(2**63) + 1


@dataclass(frozen=True)
class SourceTable:
    """A source table as found: its id range, row count and first event's guid."""

    kind: EventKind
    min_id: int | None
    max_id: int | None
    rows: int
    first_guid: str | None

    @property
    def name(self) -> str:
        return TABLES[self.kind]


def display_name(url: str) -> str:
    """`user@host:port/database` of a PostgreSQL URL, without its password."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{user}{parts.hostname or 'localhost'}{port}{parts.path or '/'}"


class Source:
    """One read-only connection to the source database, opened when first needed."""

    def __init__(self, url: str) -> None:
        self._url = url
        # user@host:port/database, for people (never the password).
        self.name = display_name(url)
        self._queries = db.load_queries("paas_billing.sql", "import.sql")
        self._conn: db.Connection | None = None

    def describe(self, kind: EventKind) -> SourceTable | None:
        """The source's table of this kind, or None when the source has no such table."""
        with self._named(), db.transaction(self._connection()) as cursor:
            cursor.execute(self._queries["source_table_exists"], {"table": TABLES[kind]})
            row = cursor.fetchone()
            if not row or not row[0]:
                return None
            cursor.execute(self._queries[f"source_bounds_{kind.value}"])
            bounds = cursor.fetchone() or (None, None, 0)
            cursor.execute(self._queries[f"source_first_guid_{kind.value}"])
            first = cursor.fetchone()
        return SourceTable(kind, bounds[0], bounds[1], int(bounds[2]), first[0] if first else None)

    def read(self, kind: EventKind, after: int, limit: int) -> bytes:
        """The next rows after source id `after` (about `limit`), as COPY text: id, guid,
        created_at (UTC), raw_message. Empty when none is left."""
        buffer = io.BytesIO()
        with self._named(), db.transaction(self._connection()) as cursor:
            sql = cursor.mogrify(
                self._queries[f"source_copy_{kind.value}"], {"after": after, "limit": limit}
            )
            cursor.copy_expert(sql.decode(), buffer)
        return buffer.getvalue()

    def count(self, kind: EventKind) -> int:
        """How many rows the source's table holds now."""
        with self._named(), db.transaction(self._connection()) as cursor:
            cursor.execute(self._queries[f"source_bounds_{kind.value}"])
            row = cursor.fetchone()
        return int(row[2]) if row else 0

    def close(self) -> None:
        db.close_quietly(self._conn)
        self._conn = None

    @contextmanager
    def _named(self) -> Iterator[None]:
        """Errors say that they come from the source database."""
        try:
            yield
        except errors.DatabaseUnavailable as exc:
            raise errors.DatabaseUnavailable(f"source database {self.name}: {exc}") from exc
        except errors.DatabaseError as exc:
            raise errors.DatabaseError(f"source database {self.name}: {exc}", exc.sqlstate) from exc

    def _connection(self) -> db.Connection:
        if self._conn is not None and db.is_closed(self._conn):
            self.close()
        if self._conn is None:
            conn = db.connect(self._url, application_name="paas-billing-import", readonly=True)
            try:
                with db.transaction(conn) as cursor:
                    cursor.execute(self._queries["source_session"])
            except BaseException:
                db.close_quietly(conn)
                raise
            self._conn = conn
        return self._conn
