"""Imports one source table into a foundation's event table: the run of `paas-billing import`.

Per table: find the source table, take the import lock of (foundation, table), load the
import record or, on a first run, decide where the events go and record it; then copy batch
after batch in source id order, each with its counts in one transaction, until the source
has no more rows or a stop was asked for. Whatever happens, a rerun continues after the last
committed batch.
"""

from __future__ import annotations

import threading
import time

import structlog

from paas_billing import import_batch, import_fence, import_placement, import_record
from paas_billing import import_source as source_module
from paas_billing.import_outcome import RunCounts, TableOutcome, TableStatus
from paas_billing.import_report import Progress
from shared import db
from shared.states import EventKind

log = structlog.get_logger()

# Seconds an import waits for another import of the same foundation's table to end.
LOCK_WAIT_SECONDS = 30.0
# Seconds between two tries of that lock.
LOCK_RETRY_SECONDS = 0.5


class Importer:
    """Imports the source's tables into one foundation, a batch at a time."""

    def __init__(
        self,
        source: source_module.Source,
        target_url: str,
        foundation: str,
        batch_size: int,
        stop: threading.Event,
        progress: Progress,
        lock_wait: float = LOCK_WAIT_SECONDS,
    ) -> None:
        self._source = source
        self._lock_wait = lock_wait
        self._target_url = target_url
        self._foundation = foundation
        self._batch_size = batch_size
        self._stop = stop
        self._progress = progress
        self._queries = db.load_queries("paas_billing.sql", "import.sql")

    def run(self, kind: EventKind) -> TableOutcome:
        table = self._source.describe(kind)
        if table is None:
            log.warning("source_table_missing", table=source_module.TABLES[kind])
            return TableOutcome(kind, TableStatus.MISSING)
        if table.min_id is None or table.max_id is None:
            return TableOutcome(kind, TableStatus.EMPTY)
        conn = db.connect(self._target_url, application_name="paas-billing-import")
        try:
            # The session's locks (import, producer) go with the connection.
            with db.transaction(conn) as cursor:
                for name in ("create_rows", f"create_{kind.value}_staging"):
                    cursor.execute(self._queries[name])
            if not self._lock(conn, kind):
                return TableOutcome(kind, TableStatus.LOCKED)
            fence = import_fence.ProducerFence(self._queries, self._foundation, kind)
            record = self._begin(conn, table, fence)
            return self._copy(conn, table, record, fence)
        finally:
            db.close_quietly(conn)

    def _lock(self, conn: db.Connection, kind: EventKind) -> bool:
        """Take the import lock of (foundation, table), waiting a while for an import that
        holds it (or whose killed session PostgreSQL has not yet ended); False if it did not
        come."""
        params = {"foundation": self._foundation, "kind": kind.value}
        deadline = time.monotonic() + self._lock_wait
        waiting_logged = False
        while True:
            with db.transaction(conn) as cursor:
                cursor.execute(self._queries["import_lock"], params)
                row = cursor.fetchone()
            if row and row[0]:
                return True
            if time.monotonic() >= deadline or self._stop.is_set():
                log.error("import_running_elsewhere", **params)
                return False
            if not waiting_logged:
                log.warning("waiting_for_import_lock", **params, up_to_seconds=self._lock_wait)
                waiting_logged = True
            self._stop.wait(LOCK_RETRY_SECONDS)

    def _identity(self, table: source_module.SourceTable) -> str:
        """What names the source table's history: its first event's guid."""
        return table.first_guid or f"no guid in {self._source_name(table)}"

    def _source_name(self, table: source_module.SourceTable) -> str:
        return f"{self._source.name}/{table.name}"

    def _begin(
        self,
        conn: db.Connection,
        table: source_module.SourceTable,
        fence: import_fence.ProducerFence,
    ) -> import_record.ImportRecord:
        """The import's record; on its first run, where its events go, decided and recorded."""
        kind, identity = table.kind, self._identity(table)
        with db.transaction(conn) as cursor:
            record = import_record.load(cursor, self._queries, self._foundation, kind, identity)
            if record is not None:
                log.info("import_resumed", kind=kind.value, after_source_id=record.done_source_id)
                return record
            producer = not fence.take(cursor)
            cursor.execute(self._queries[f"stored_{kind.value}"], {"foundation": self._foundation})
            lowest, highest, oldest, newest = cursor.fetchone() or (None, None, None, None)
            stored = import_placement.StoredHistory(lowest, highest, oldest, newest)
            assert table.min_id is not None and table.max_id is not None
            placement = import_placement.decide(stored, table.min_id, table.max_id, producer)
            import_record.create(
                cursor,
                self._queries,
                foundation=self._foundation,
                kind=kind.value,
                source_first_guid=identity,
                source_name=self._source_name(table),
                source_min_id=table.min_id,
                source_max_id=table.max_id,
                stored_lowest_id=lowest,
                stored_highest_id=highest,
                stored_oldest_at=oldest,
                stored_newest_at=newest,
                producer=producer,
                before_offset=placement.before_offset,
                before_max_id=placement.before_max_id,
                after_offset=placement.after_offset,
            )
            if placement.before_max_id is not None:
                # Only an import into an empty table needs the lock from its first row on;
                # events newer than the stored history take it when they come.
                fence.release(cursor)
            record = import_record.load(cursor, self._queries, self._foundation, kind, identity)
        assert record is not None
        log.info(
            "import_placed",
            kind=kind.value,
            foundation=self._foundation,
            producer=producer,
            before_offset=placement.before_offset,
            before_max_id=placement.before_max_id,
            after_offset=placement.after_offset,
            stored_oldest_at=oldest.isoformat() if oldest else None,
            stored_newest_at=newest.isoformat() if newest else None,
        )
        return record

    def _copy(
        self,
        conn: db.Connection,
        table: source_module.SourceTable,
        record: import_record.ImportRecord,
        fence: import_fence.ProducerFence,
    ) -> TableOutcome:
        kind = table.kind
        writer = import_batch.BatchWriter(conn, self._queries, record, fence)
        run = RunCounts()
        after = (
            source_module.BEFORE_ANY_ID if record.done_source_id is None else record.done_source_id
        )
        started = time.monotonic()
        finished = False
        while not self._stop.is_set():
            data = self._source.read(kind, after, self._batch_size)
            if not data:
                finished = True
                break
            result = writer.write(data)
            run.rows += result.rows
            run.imported += result.imported
            run.stored += result.stored
            if result.not_imported:
                self._log_left_out(conn, record.import_id, kind, after, result.done_source_id)
            after = result.done_source_id
            run.seconds = time.monotonic() - started
            self._progress.update(table.name, record.accounted + run.rows, table.rows, run)
        self._progress.done()
        return self._outcome(conn, table, record.import_id, run, finished)

    def _log_left_out(
        self, conn: db.Connection, import_id: int, kind: EventKind, after: int, done: int
    ) -> None:
        params = {
            "import_id": import_id,
            "after": after,
            "done": done,
            "first": import_record.FIRST_GUIDS,
        }
        with db.transaction(conn) as cursor:
            cursor.execute(self._queries["left_out_between"], params)
            groups = cursor.fetchall()
        for reason, count, guids in groups:
            log.warning(
                "events_not_imported",
                kind=kind.value,
                foundation=self._foundation,
                reason=reason,
                count=count,
                first_guids=guids,
                why=import_record.EXPLANATIONS[import_record.LeftOut(reason)],
            )

    def _outcome(
        self,
        conn: db.Connection,
        table: source_module.SourceTable,
        import_id: int,
        run: RunCounts,
        finished: bool,
    ) -> TableOutcome:
        kind, identity = table.kind, self._identity(table)
        params = {"import_id": import_id, "foundation": self._foundation, "kind": kind.value}
        with db.transaction(conn) as cursor:
            if finished:
                cursor.execute(self._queries["finish_import"], params)
            record = import_record.load(cursor, self._queries, self._foundation, kind, identity)
            groups = import_record.left_out(cursor, self._queries, import_id)
            cursor.execute(self._queries["history_beginning"], params)
            began = cursor.fetchone()
        outcome = TableOutcome(
            kind,
            TableStatus.FINISHED if finished else TableStatus.STOPPED,
            record=record,
            source_rows=self._source.count(kind),
            run=run,
            left_out=groups,
            history_begins=began[0] if began else None,
        )
        assert record is not None
        log.info(
            "import_finished" if finished else "import_stopped",
            kind=kind.value,
            foundation=self._foundation,
            source_rows=outcome.source_rows,
            imported=record.imported,
            already_stored=record.already_stored,
            not_imported=record.not_imported,
            lowest_id=record.lowest_id,
            highest_id=record.highest_id,
            history_begins=outcome.history_begins.isoformat() if outcome.history_begins else None,
            run_imported=run.imported,
            run_seconds=round(run.seconds, 3),
        )
        return outcome
