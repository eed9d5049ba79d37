"""The producer's lock, held by an import while it gives events ids above the stored ones.

A producer numbers its events after the highest id stored when it first starts (or after its
cursor). An import that writes ids above the stored ones (into an empty table, or events newer
than the stored history) may do so only while no producer of the foundation runs or has run
(none holds the lock, none left a cursor), and must keep any from starting until it is done:
it holds the producer's own per-foundation advisory lock (producer/sql/cursor.sql), so a
producer started meanwhile waits, then numbers after everything imported.
"""

from __future__ import annotations

from shared import db
from shared.states import EventKind


class ProducerFence:
    """The producer lock of one foundation, taken on the import's session when needed."""

    def __init__(self, queries: dict[str, str], foundation: str, kind: EventKind) -> None:
        self._queries = queries
        self._params = {"foundation": foundation, "kind": kind.value}
        self.held = False

    def take(self, cursor: db.Cursor) -> bool:
        """Hold the lock unless a producer of the foundation runs or has left a cursor for this
        kind; True when held (kept until release). Session-level: a rollback keeps it."""
        if self.held:
            return True
        cursor.execute(self._queries["producer_lock"], self._params)
        row = cursor.fetchone()
        if not row or not row[0]:
            return False
        cursor.execute(self._queries["cursor_exists"], self._params)
        row = cursor.fetchone()
        if row and row[0]:
            cursor.execute(self._queries["producer_unlock"], self._params)
            return False
        self.held = True
        return True

    def release(self, cursor: db.Cursor) -> None:
        if self.held:
            cursor.execute(self._queries["producer_unlock"], self._params)
            self.held = False
