"""A database thread beside the broker thread: batches are written while the next one fills.

The broker thread submits a batch and carries on reading; this thread writes it (retrying
with backoff while the database is unavailable) and hands the result back to the broker
thread (`Broker.call_soon`), which is where the ack happens (pika connections are not
thread-safe). Batches finish in the order they were submitted, and the runner settles each
one as it finishes (acked when written, nacked back to the queue when abandoned), so a
multiple=True ack up to a batch's last tag never covers a message of another batch.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import threading
from collections.abc import Callable

import structlog

from consumer.batch import Batch
from consumer.metrics import ConsumerMetrics
from consumer.writer import Writer, WriteResult
from shared import errors
from shared.backoff import Backoff

log = structlog.get_logger()

# First wait for the database, in seconds (doubling, jittered, up to shared.backoff.CAP_SECONDS).
FIRST_WAIT_SECONDS = 0.2
# Seconds between checks for stop or abort while waiting out a database outage.
WAIT_TICK_SECONDS = 0.2

# Called on the broker thread with a batch and its result (None: abandoned, not written: the
# runner must hand its deliveries back, or a later multiple ack would acknowledge them).
Done = Callable[[Batch, WriteResult | None], None]
# Runs a callback on the broker thread (Broker.call_soon); BrokerUnavailable once it is gone.
CallSoon = Callable[[Callable[[], None]], None]


class Committer:
    """Writes submitted batches in order on a thread of its own."""

    def __init__(
        self,
        writer: Writer,
        metrics: ConsumerMetrics,
        call_soon: CallSoon,
        done: Done,
        stop: threading.Event,
    ) -> None:
        self._writer = writer
        self._metrics = metrics
        self._call_soon = call_soon
        self._done = done
        self._stop = stop
        self._abort = threading.Event()
        self._jobs: queue.SimpleQueue[Batch | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="consumer-writer", daemon=True)
        # Batches submitted and not yet finished; read and written on the broker thread only.
        self.in_flight = 0
        self._thread.start()

    def submit(self, batch: Batch) -> None:
        """Queue a batch for writing (broker thread)."""
        self.in_flight += 1
        self._jobs.put(batch)

    def finished(self) -> None:
        """Note that a batch's done callback ran (broker thread)."""
        self.in_flight -= 1

    def close(self) -> None:
        """Stop after the statement in progress; drop queued batches (they are redelivered)."""
        self._abort.set()
        self._jobs.put(None)
        self._thread.join()

    def _loop(self) -> None:
        try:
            self._work()
        except Exception as exc:  # this thread's loop edge: hand the crash to the broker thread
            log.exception("writer_thread_crashed")
            failure = exc

            def crash() -> None:
                raise errors.BillingError(f"the database thread failed: {failure!r}") from failure

            with contextlib.suppress(errors.BrokerUnavailable):
                self._call_soon(crash)

    def _work(self) -> None:
        while True:
            batch = self._jobs.get()
            if batch is None or self._abort.is_set():
                return
            result = self._write(batch)
            if self._abort.is_set():
                return
            try:
                self._call_soon(functools.partial(self._done, batch, result))
            except errors.BrokerUnavailable:
                return  # the broker connection is gone: its messages are redelivered

    def _write(self, batch: Batch) -> WriteResult | None:
        backoff = Backoff(base=FIRST_WAIT_SECONDS)
        while True:
            try:
                return self._writer.write(batch.accepted)
            except (errors.DatabaseUnavailable, errors.DatabaseError) as exc:
                unavailable = isinstance(exc, errors.DatabaseUnavailable)
                kind = "database_unavailable" if unavailable else "database_refused"
                self._metrics.errors.labels(error=kind).inc()
                self._writer.close()
                if self._stop.is_set() or self._abort.is_set():
                    return None
                wait = backoff.next_delay()
                log.warning(kind, error=str(exc), retry_in_s=round(wait, 3), size=len(batch))
                for _ in range(max(1, round(wait / WAIT_TICK_SECONDS))):
                    if self._stop.is_set() or self._abort.wait(WAIT_TICK_SECONDS):
                        return None
