"""Writes one batch of source rows into the event table, in one transaction with its counts.

The rows are copied into a session table and given their place (paas_billing/sql/import.sql,
place_rows); the placeable ones are staged in a copy of the event table, so that PostgreSQL
derives their columns and refuses what it cannot store before the event table is touched;
rows whose guid is stored already are settled ('stored', or 'conflict' when the stored event
has other facts); the rest go into the event table. When PostgreSQL refuses a row's data, the
part is rolled back to a savepoint and split in halves until the refused rows stand alone:
they are recorded with the reason, and everything else is written. Then the rows left out and
the counts go into the import record, and the transaction commits: a batch and its record
are written together or not at all.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import structlog

from paas_billing import import_fence, import_record
from shared import db, errors

log = structlog.get_logger()

# SQLSTATE classes that blame a row's data (data exception, integrity violation, program
# limit exceeded such as an index row too large), as the consumer's writer counts them.
ROW_FAULT_CLASSES = ("22", "23", "54")
# A transaction PostgreSQL gave up for another's sake (serialization failure, deadlock: a
# consumer storing the same guids), and how many times a batch is tried.
ROLLED_BACK = ("40001", "40P01")
ATTEMPTS = 3


@dataclass
class Written:
    """Rows a batch wrote into the event table so far, and their lowest and highest ids."""

    count: int = 0
    lowest: int | None = None
    highest: int | None = None

    def add(self, count: int, lowest: int | None, highest: int | None) -> None:
        self.count += count
        if lowest is not None:
            self.lowest = lowest if self.lowest is None else min(self.lowest, lowest)
        if highest is not None:
            self.highest = highest if self.highest is None else max(self.highest, highest)


@dataclass(frozen=True)
class BatchResult:
    """What one batch did: source rows read up to a source id, and what became of them."""

    rows: int
    done_source_id: int
    imported: int
    stored: int

    @property
    def not_imported(self) -> int:
        return self.rows - self.imported - self.stored


class BatchWriter:
    """Writes batches of one import on the import's own connection."""

    def __init__(
        self,
        conn: db.Connection,
        queries: dict[str, str],
        record: import_record.ImportRecord,
        fence: import_fence.ProducerFence,
    ) -> None:
        self._conn = conn
        self._queries = queries
        self._record = record
        self._fence = fence
        self._kind = record.kind.value

    def write(self, data: bytes) -> BatchResult:
        """Write the rows (COPY text from the source); retried when PostgreSQL gave the
        transaction up in a deadlock."""
        attempt = 1
        while True:
            try:
                return self._write(data)
            except errors.DatabaseError as exc:
                if attempt == ATTEMPTS or exc.sqlstate not in ROLLED_BACK:
                    raise
                log.info("import_batch_retried", attempt=attempt, reason=str(exc))
            attempt += 1

    def _write(self, data: bytes) -> BatchResult:
        queries, import_id = self._queries, self._record.import_id
        with db.transaction(self._conn) as cursor:
            cursor.copy_expert(queries["copy_rows"], io.BytesIO(data))
            rows, done, first, last = self._place(cursor)
            written = Written()
            if not self._fast(cursor, rows, written):
                self._write_part(cursor, first, last, None, written)
            cursor.execute(queries[f"left_out_{self._kind}"], {"import_id": import_id})
            params = {
                "import_id": import_id,
                "done": done,
                "rows": rows,
                "imported": written.count,
                "lowest": written.lowest,
                "highest": written.highest,
            }
            cursor.execute(queries[f"record_batch_{self._kind}"], params)
            counted = cursor.fetchone()
        return BatchResult(rows, done, written.count, int(counted[0]) if counted else 0)

    def _place(self, cursor: db.Cursor) -> tuple[int, int, int, int]:
        """Give each row its place; take the producer's lock first when some row wants ids
        above the stored ones and it is free. Returns rows, last source id, first and last n."""
        params = {"import_id": self._record.import_id, "above": self._fence.held}
        cursor.execute(self._queries["place_rows"], params)
        cursor.execute(self._queries["rows_summary"])
        rows, done, wants_above, first, last = cursor.fetchone() or (0, None, False, 0, 0)
        if wants_above and self._fence.take(cursor):
            log.info("producer_lock_held", foundation=self._record.foundation, kind=self._kind)
            cursor.execute(self._queries["place_rows"], {**params, "above": True})
        return int(rows), int(done), int(first), int(last)

    def _fast(self, cursor: db.Cursor, rows: int, written: Written) -> bool:
        """Write the batch straight into the event table when every row has a place and no
        guid is stored; False (nothing written) when it does not qualify or does not go
        through whole, for the staged path to settle."""
        queries = self._queries
        cursor.execute(queries[f"fast_check_{self._kind}"])
        row = cursor.fetchone()
        if not row or not row[0]:
            return False
        cursor.execute(queries["savepoint"])
        params = {"foundation": self._record.foundation}
        refusal = db.execute_or_refusal(cursor, queries[f"fast_{self._kind}"], params)
        counted = cursor.fetchone() if refusal is None else None
        if counted is None or counted[0] != rows:
            cursor.execute(queries["rollback_to_savepoint"])
            if refusal is not None and refusal.sqlstate[:2] not in ROW_FAULT_CLASSES:
                raise refusal
            return False
        cursor.execute(queries["release_savepoint"])
        written.add(*counted)
        return True

    def _write_part(
        self,
        cursor: db.Cursor,
        first: int,
        last: int,
        stageable: list[int] | None,
        written: Written,
    ) -> None:
        """Stage and write the rows numbered first..last; split the part when PostgreSQL
        refuses a row's data, and record a refused row standing alone."""
        refusal = self._attempt(cursor, first, last, written)
        if refusal is None:
            return
        if refusal.sqlstate[:2] not in ROW_FAULT_CLASSES:
            raise refusal
        if stageable is None:
            cursor.execute(self._queries["stageable_rows"])
            stageable = [row[0] for row in cursor.fetchall()]
        part = [n for n in stageable if first <= n <= last]
        if not part:
            raise refusal
        if len(part) == 1:
            message = str(refusal).removeprefix("PostgreSQL refused a statement: ")
            detail = f"{message} (SQLSTATE {refusal.sqlstate})"
            params = {"import_id": self._record.import_id, "n": part[0], "detail": detail}
            cursor.execute(self._queries["refused"], params)
            log.warning("import_row_refused", kind=self._kind, reason=detail)
            return
        middle = len(part) // 2
        self._write_part(cursor, part[0], part[middle - 1], stageable, written)
        self._write_part(cursor, part[middle], part[-1], stageable, written)

    def _attempt(
        self, cursor: db.Cursor, first: int, last: int, written: Written
    ) -> errors.DatabaseError | None:
        """One part under a savepoint: rolled back to it, with PostgreSQL's refusal, when
        refused; what it wrote is added to `written` when it was not."""
        queries, kind = self._queries, self._kind
        cursor.execute(queries["savepoint"])
        steps = (
            (
                f"stage_{kind}",
                {"first": first, "last": last, "foundation": self._record.foundation},
            ),
            (f"reseeds_{kind}", None),
            (f"settle_{kind}", None),
            (f"insert_{kind}", None),
            # Again: a consumer may have stored one of the guids meanwhile.
            (f"settle_{kind}", None),
            (f"taken_{kind}", None),
        )
        counted: tuple[int, int | None, int | None] = (0, None, None)
        for name, params in steps:
            refusal = db.execute_or_refusal(cursor, queries[name], params)
            if refusal is not None:
                cursor.execute(queries["rollback_to_savepoint"])
                return refusal
            if name.startswith("insert_"):
                counted = cursor.fetchone() or counted
        cursor.execute(queries["release_savepoint"])
        written.add(*counted)
        return None
