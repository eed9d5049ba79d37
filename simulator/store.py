"""One usage-event table: rows in id order, a guid index, rows not yet committed.

Ids are consecutive and never reused (a purge keeps the sequence, like PostgreSQL's
TRUNCATE), so a row's id is `base + position`. Late commits: a row may get its id now and
become visible later; until then no list shows it and no `after_guid` finds it.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from simulator.rows import AppRow, ServiceRow

R = TypeVar("R", AppRow, ServiceRow)


class UnknownGuid(LookupError):
    """No visible row has this guid (never existed, pruned, purged or not committed yet)."""


class Table(Generic[R]):
    """A usage-event table; thread-safe."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._rows: list[R] = []
        self._base = 1  # id of _rows[0]
        self._index: dict[str, int] = {}  # guid -> id
        self._pending: dict[int, float] = {}  # id -> moment it becomes visible
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ writes
    def extend(self, rows: Iterable[R]) -> int:
        """Append committed rows (a lazy stream is fine); return how many."""
        count = 0
        with self._lock:
            append, index = self._rows.append, self._index
            next_id = self._base + len(self._rows)
            for row in rows:
                append(row)
                index[row.guid] = next_id
                next_id += 1
                count += 1
        return count

    def append(self, row: R, visible_at: float | None = None) -> int:
        """Append one row; with `visible_at` it stays invisible until then. Return its id."""
        with self._lock:
            row_id = self._base + len(self._rows)
            self._rows.append(row)
            self._index[row.guid] = row_id
            if visible_at is not None:
                self._pending[row_id] = visible_at
            return row_id

    def purge(self, rows: Iterable[R]) -> None:
        """Truncate (keeping the id sequence) and insert the reseed rows, in one step."""
        fresh = list(rows)
        with self._lock:
            self._base += len(self._rows)
            self._rows = fresh
            self._index = {row.guid: self._base + n for n, row in enumerate(fresh)}
            self._pending = {}

    def prune(self, cutoff: int) -> int:
        """Delete rows created before `cutoff`, always keeping the newest row; return count."""
        with self._lock:
            rows = self._rows
            limit = len(rows) - 1  # the max-id row stays
            count = 0
            while count < limit and rows[count].created < cutoff:
                count += 1
            for row in rows[:count]:
                self._index.pop(row.guid, None)
            for row_id in [i for i in self._pending if i < self._base + count]:
                del self._pending[row_id]
            del rows[:count]
            self._base += count
            return count

    # ------------------------------------------------------------------ reads
    def _commit_due(self) -> None:
        if self._pending:
            now = self._clock()
            for row_id in [i for i, t in self._pending.items() if t <= now]:
                del self._pending[row_id]

    def _position(self, guid: str) -> int:
        row_id = self._index.get(guid)
        if row_id is None or row_id in self._pending:
            raise UnknownGuid(guid)
        return row_id - self._base

    def get(self, guid: str) -> R:
        with self._lock:
            self._commit_due()
            return self._rows[self._position(guid)]

    def page(
        self, after_guid: str | None, offset: int, limit: int, descending: bool = False
    ) -> tuple[int, list[R]]:
        """(total visible rows after the cursor, rows [offset, offset+limit) of them)."""
        with self._lock:
            self._commit_due()
            first = 0 if after_guid is None else self._position(after_guid) + 1
            rows = self._rows
            hidden = sorted(i - self._base for i in self._pending if i - self._base >= first)
            total = len(rows) - first - len(hidden)
            if not hidden:
                if descending:
                    stop = len(rows) - offset
                    return total, rows[max(stop - limit, first) : max(stop, first)][::-1]
                return total, rows[first + offset : first + offset + limit]
            skip = set(hidden)
            order: Iterator[int] = (
                iter(range(len(rows) - 1, first - 1, -1))
                if descending
                else iter(range(first, len(rows)))
            )
            visible = (rows[i] for i in order if i not in skip)
            return total, list(itertools.islice(visible, offset, offset + limit))

    def scan(self, after_guid: str | None) -> list[R]:
        """Every visible row after the cursor, in id order (for filtered v3 queries)."""
        with self._lock:
            self._commit_due()
            first = 0 if after_guid is None else self._position(after_guid) + 1
            ids = {i - self._base for i in self._pending}
            return [r for i, r in enumerate(self._rows[first:], first) if i not in ids]

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)

    def last_guid(self) -> str | None:
        with self._lock:
            return self._rows[-1].guid if self._rows else None
