"""The consumer loop: deliveries in, batches to PostgreSQL, acks after the commit.

One thread owns the broker connection (consumer.broker) and decodes; a second
(consumer.committer) writes each batch in one transaction. Only after the commit (and after
its rejects are confirmed on the dead-letter exchange) is a batch acked, on the broker
thread, with multiple=True up to its last delivery tag. A batch that is not written
(abandoned by a stop during a database outage) is nacked back to the queue the same way.
Batches are cut from the deliveries in order and finish in order, each settled one way or
the other, so a multiple ack or nack up to a batch's last tag covers that batch's deliveries
and nothing else. A crash at any point leaves the broker holding every unacked message for
redelivery, and guid uniqueness drops the repeats.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from consumer import delivery
from consumer.batch import Batch
from consumer.broker import Broker
from consumer.committer import Committer
from consumer.metrics import ConsumerMetrics
from consumer.settings import ConsumerSettings
from consumer.writer import Writer, WriteResult
from shared import errors
from shared.backoff import Backoff
from shared.states import EventKind

log = structlog.get_logger()

# Seconds between loop turns when there is nothing to do (how soon a SIGTERM is seen).
IDLE_TICK_SECONDS = 0.2
# Batches handed to the database thread and not yet acked: one being written, one waiting.
MAX_BATCHES_IN_FLIGHT = 2
# First reconnect wait, in seconds (doubling, jittered, up to shared.backoff.CAP_SECONDS).
FIRST_WAIT_SECONDS = 0.2
# Errors after which the broker connection is dropped and made anew.
BROKER_ERRORS = (errors.BrokerUnavailable, errors.PublishFailed)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Runner:
    """Consumes until `stop` is set; then finishes the batch in hand and returns."""

    def __init__(
        self,
        config: ConsumerSettings,
        writer: Writer,
        metrics: ConsumerMetrics,
        stop: threading.Event,
        now: Callable[[], datetime] = utc_now,
        broker: Broker | None = None,
    ) -> None:
        self._config = config
        self._writer = writer
        self._metrics = metrics
        self._stop = stop
        self._now = now
        self._broker = broker or Broker(config.amqp_url, config.consumer_prefetch)

    @property
    def connected(self) -> bool:
        """True while consuming on an open broker connection."""
        return self._broker.connected

    def run(self) -> int:
        """Consume, reconnecting with backoff, until stopped. Returns the exit code."""
        backoff = Backoff(base=FIRST_WAIT_SECONDS)
        while not self._stop.is_set():
            try:
                self._broker.open()
                backoff.reset()
                self._consume()
            except BROKER_ERRORS as exc:
                wait = backoff.next_delay()
                self._metrics.errors.labels(error="broker_unavailable").inc()
                log.warning(
                    "broker_unavailable", error=str(exc) or repr(exc), retry_in_s=round(wait, 3)
                )
                self._stop.wait(wait)
            finally:
                self._broker.close()
        self._writer.close()
        return 0

    def _consume(self) -> None:
        def done(batch: Batch, result: WriteResult | None) -> None:
            committer.finished()
            self._finish(batch, result)

        broker = self._broker
        committer = Committer(self._writer, self._metrics, broker.call_soon, done, self._stop)
        try:
            self._loop(committer)
        finally:
            committer.close()

    def _loop(self, committer: Committer) -> None:
        broker = self._broker
        batch = self._new_batch()
        while True:
            if self._stop.is_set():
                # No more deliveries: what is requeued now must not come back to this consumer.
                broker.stop_consuming()
                if len(batch):
                    committer.submit(batch)
                while committer.in_flight:
                    broker.poll(IDLE_TICK_SECONDS)
                log.info("consumer_stopping", reason="stop requested")
                return
            room = committer.in_flight < MAX_BATCHES_IN_FLIGHT
            wait = IDLE_TICK_SECONDS
            if len(batch) and room:
                wait = max(0.0, min(wait, batch.wait_seconds - batch.age()))
            broker.poll(wait)
            now = self._now()
            received = broker.received
            while received and committer.in_flight < MAX_BATCHES_IN_FLIGHT:
                batch.add(delivery.decode(received.popleft()))
                if batch.full():
                    committer.submit(batch)
                    batch = self._new_batch()
            if batch.due() and committer.in_flight < MAX_BATCHES_IN_FLIGHT:
                committer.submit(batch)
                batch = self._new_batch()
            self._metrics.refresh_lag(now)

    def _new_batch(self) -> Batch:
        wait = self._config.consumer_batch_wait.total_seconds()
        return Batch(self._config.consumer_batch_size, wait)

    def _finish(self, batch: Batch, result: WriteResult | None) -> None:
        """On the broker thread, after the commit: dead-letter the rejects, then ack."""
        broker = self._broker
        if result is None:
            # Handed back to the queue now: left unacked, the next batch's multiple ack
            # would acknowledge these deliveries too, and their events would be lost.
            if batch.last_tag is not None:
                broker.requeue_through(batch.last_tag)
            self._metrics.errors.labels(error="batch_abandoned").inc()
            log.warning("batch_abandoned", size=len(batch), reason="stopping while unwritable")
            return
        rejects = list(batch.rejected)
        for index, reason in result.refused:
            item = batch.accepted[index]
            event = item.event
            rejects.append(
                delivery.Rejected(item.delivery, reason, event.foundation, event.kind, event.guid)
            )
        now = self._now()
        for rejected in rejects:
            broker.dead_letter(rejected, now)
            self._metrics.dead_lettered.labels(kind=rejected.kind or "unknown").inc()
            with structlog.contextvars.bound_contextvars(guid=rejected.guid):
                log.warning(
                    "event_dead_lettered",
                    reason=rejected.reason,
                    kind=rejected.kind,
                    foundation=rejected.foundation,
                )
        if batch.last_tag is not None:
            broker.ack_through(batch.last_tag)
        self._record(batch, result)

    def _record(self, batch: Batch, result: WriteResult) -> None:
        metrics = self._metrics
        metrics.batch_size.observe(len(batch))
        metrics.batch_seconds.observe(batch.age())
        for kind, count in result.stored.items():
            if count:
                metrics.stored.labels(kind=kind.value).inc(count)
        for kind in result.duplicates:
            skipped = result.duplicates[kind] + batch.repeats[kind]
            if skipped:
                metrics.duplicates.labels(kind=kind.value).inc(skipped)
        for kind in EventKind:
            metrics.conflicts.labels(kind=kind.value).inc(result.conflicts[kind])
            metrics.unusual_times.labels(kind=kind.value).inc(result.unusual_times[kind])
        for kind, created_at in result.newest.items():
            metrics.saw_newest(kind, created_at)
        log.debug(
            "batch_stored",
            size=len(batch),
            stored={k.value: v for k, v in result.stored.items()},
            rejected=len(batch.rejected) + len(result.refused),
        )
