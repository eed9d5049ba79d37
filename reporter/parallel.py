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
from typing import Any, Generic, TypeVar

from shared import db

R = TypeVar("R")
# One unit of work: a query name and its parameters.
Job = tuple[str, Mapping[str, Any]]


class Pending(Generic[R]):
    """Jobs running on helper connections; `results()` waits for them, in job order."""

    def __init__(self, jobs: int) -> None:
        self.queue: queue.SimpleQueue[tuple[int, Job]] = queue.SimpleQueue()
        self.found: dict[int, R] = {}
        self.failures: list[BaseException] = []
        self.threads: list[threading.Thread] = []
        self.jobs = jobs

    def drain(self, on: db.Cursor, work: Callable[[db.Cursor, Job], R]) -> None:
        """Run jobs from the queue on `on` until none is left (or one failed)."""
        while not self.failures:
            try:
                index, job = self.queue.get_nowait()
            except queue.Empty:
                return
            self.found[index] = work(on, job)

    def results(self) -> list[R]:
        for thread in self.threads:
            thread.join()
        if self.failures:
            raise self.failures[0]
        return [self.found[index] for index in range(self.jobs)]


def start(
    cursor: db.Cursor,
    helpers: Sequence[db.Connection],
    jobs: Sequence[Job],
    work: Callable[[db.Cursor, Job], R],
    queries: Mapping[str, str],
    begin: Mapping[str, Any],
) -> Pending[R]:
    """Start `work(cursor, job)` for every job on the helper connections (at least one), on
    the snapshot of `cursor`'s transaction, and return at once: the caller's thread and
    connection stay free for other work meanwhile."""
    cursor.execute(queries["export_snapshot"])
    row = cursor.fetchone()
    assert row is not None
    snapshot = row[0]
    pending: Pending[R] = Pending(len(jobs))
    for index, job in enumerate(jobs):
        pending.queue.put((index, job))

    def helper(conn: db.Connection) -> None:
        try:
            with db.transaction(conn) as helper_cursor:
                helper_cursor.execute(queries["begin_helper"], {**begin, "snapshot": snapshot})
                pending.drain(helper_cursor, work)
        except BaseException as exc:  # handed to the caller's thread, raised in results()
            pending.failures.append(exc)

    pending.threads = [threading.Thread(target=helper, args=(c,), daemon=True) for c in helpers]
    for thread in pending.threads:
        thread.start()
    return pending


def run(
    cursor: db.Cursor,
    helpers: Sequence[db.Connection],
    jobs: Sequence[Job],
    work: Callable[[db.Cursor, Job], R],
    queries: Mapping[str, str],
    begin: Mapping[str, Any],
) -> list[R]:
    """`work(cursor, job)` for every job, in job order; on `cursor` alone without helpers,
    else on `cursor` and every helper at once."""
    if not helpers:
        return [work(cursor, job) for job in jobs]
    pending = start(cursor, helpers, jobs, work, queries, begin)
    try:
        pending.drain(cursor, work)
    except BaseException as exc:
        pending.failures.append(exc)
    return pending.results()
