"""Run `paas-billing import`'s importer in the test process, and look at what it did."""

from __future__ import annotations

import io
import threading
from typing import Any

import psycopg2

from paas_billing import import_report, import_source, importer
from paas_billing.import_outcome import RunCounts, TableOutcome
from shared.states import EventKind

TABLES = {EventKind.APP: "app_usage_events", EventKind.SERVICE: "service_usage_events"}


class StopAfter(import_report.Progress):
    """A progress line that asks the import to stop after `batches` batches, and runs
    `check` (if any) there, while the import's session and locks are live."""

    def __init__(self, stop: threading.Event, batches: int, check: Any = None) -> None:
        super().__init__(io.StringIO())
        self._stop, self._left, self._check = stop, batches, check

    def update(self, table: str, done: int, total: int, run: RunCounts) -> None:
        self._left -= 1
        if self._left <= 0 and not self._stop.is_set():
            if self._check is not None:
                self._check()
            self._stop.set()


def run_import(
    source_url: str,
    target_url: str,
    *,
    foundation: str = "default",
    batch_size: int = 50,
    stop: threading.Event | None = None,
    progress: import_report.Progress | None = None,
    lock_wait: float = 0.0,
) -> dict[EventKind, TableOutcome]:
    """Import both tables as the command does; the outcome per kind."""
    source = import_source.Source(source_url)
    try:
        run = importer.Importer(
            source,
            target_url,
            foundation,
            batch_size,
            stop or threading.Event(),
            progress or import_report.Progress(io.StringIO()),
            lock_wait,
        )
        return {kind: run.run(kind) for kind in EventKind}
    finally:
        source.close()


def query(url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
    finally:
        conn.close()


def stored(url: str, kind: EventKind, foundation: str = "default") -> list[tuple[int, str]]:
    """(id, guid) of the foundation's stored events of one kind, in id order."""
    return [
        (int(row[0]), str(row[1]))
        for row in query(
            url,
            f"SELECT id, guid FROM {TABLES[kind]} WHERE foundation = %s ORDER BY id",
            (foundation,),
        )
    ]


def left_out(url: str) -> dict[str, list[str]]:
    """The guids (or 'source id N') every import left out, per reason, in source order."""
    found: dict[str, list[str]] = {}
    for reason, guid, source_id in query(
        url,
        "SELECT reason, guid, source_id FROM event_import_left_out ORDER BY import_id, source_id",
    ):
        found.setdefault(reason, []).append(guid or f"source id {source_id}")
    return found


def assert_adds_up(outcome: TableOutcome) -> None:
    """The summary's figures: every source row imported, found stored, or not imported, and
    the reasons' counts add up to the not imported."""
    record = outcome.record
    assert record is not None
    assert record.imported + record.already_stored + record.not_imported == outcome.source_rows
    assert sum(group.count for group in outcome.left_out) == record.not_imported
