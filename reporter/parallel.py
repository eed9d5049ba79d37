"""Run a report's queries on several connections at once, all reading one snapshot.

The report's own transaction exports its snapshot; each helper connection opens a read-only
REPEATABLE READ transaction on that snapshot (`SET TRANSACTION SNAPSHOT`), so every query of
the report sees exactly the same rows whichever connection ran it. Jobs are pulled from one
queue, longest first, by the report's connection and every helper; results come back in job
order. PostgreSQL does not parallelise window functions itself, so this is how a report uses
more than one core.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from shared import db

R = TypeVar("R")
# One unit of work: a query name and its parameters.
Job = tuple[str, Mapping[str, Any]]


def run(
    cursor: db.Cursor,
    helpers: Sequence[db.Connection],
    jobs: Sequence[Job],
    work: Callable[[db.Cursor, Job], R],
    queries: Mapping[str, str],
    begin: Mapping[str, Any],
) -> list[R]:
    """`work(cursor, job)` for every job, in job order; on `cursor` alone without helpers."""
    if not helpers:
        return [work(cursor, job) for job in jobs]
    cursor.execute(queries["export_snapshot"])
    row = cursor.fetchone()
    assert row is not None
    snapshot = row[0]
    pending: queue.SimpleQueue[tuple[int, Job]] = queue.SimpleQueue()
    for index, job in enumerate(jobs):
        pending.put((index, job))
    results: dict[int, R] = {}
    failures: list[BaseException] = []

    def drain(on: db.Cursor) -> None:
        while not failures:
            try:
                index, job = pending.get_nowait()
            except queue.Empty:
                return
            results[index] = work(on, job)

    def helper(conn: db.Connection) -> None:
        try:
            with db.transaction(conn) as helper_cursor:
                helper_cursor.execute(queries["begin_helper"], {**begin, "snapshot": snapshot})
                drain(helper_cursor)
        except BaseException as exc:  # handed to the report's thread, raised there
            failures.append(exc)

    threads = [threading.Thread(target=helper, args=(c,), daemon=True) for c in helpers]
    for thread in threads:
        thread.start()
    try:
        drain(cursor)
    finally:
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]
    return [results[index] for index in range(len(jobs))]
