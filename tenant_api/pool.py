"""A small pool of read-only PostgreSQL connections shared by the request threads.

At most `size` connections exist; a request waits up to `wait` seconds for one, then gets
DatabaseUnavailable (the server is saturated: 503, try again). A connection that failed is
closed and replaced by a fresh one on the next request.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from shared import db, errors

# What the connections call themselves in pg_stat_activity.
APPLICATION_NAME = "paas-billing-api"


class Busy(errors.DatabaseUnavailable):
    """Every database connection is in use."""


class Pool:
    def __init__(self, url: str, size: int, wait: float) -> None:
        self._url = url
        self._wait = wait
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[db.Connection] = []
        self._lock = threading.Lock()

    @contextmanager
    def connection(self) -> Iterator[db.Connection]:
        """A connection for the block; closed instead of kept if the block lost it."""
        if not self._slots.acquire(timeout=self._wait):
            raise Busy(f"every database connection stayed busy for {self._wait:.0f}s")
        conn: db.Connection | None = None
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None or db.is_closed(conn):
                conn = db.connect(self._url, application_name=APPLICATION_NAME, readonly=True)
            yield conn
        except errors.DatabaseUnavailable:
            db.close_quietly(conn)
            conn = None
            raise
        finally:
            if conn is not None and not db.is_closed(conn):
                with self._lock:
                    self._idle.append(conn)
            self._slots.release()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            db.close_quietly(conn)
