"""The consumer loop: deliveries in, batches to PostgreSQL, acks after the commit.

One thread owns the BlockingConnection and decodes; a second (consumer.committer) writes each
batch in one transaction. Only after the commit (and after its rejects are confirmed on the
dead-letter exchange) is a batch acked, on the broker thread, with multiple=True up to its
last delivery tag. A batch that is not written (abandoned by a stop during a database
outage) is nacked back to the queue the same way. Batches are cut from the deliveries in
order and finish in order, each settled one way or the other, so a multiple ack or nack up to
a batch's last tag covers that batch's deliveries and nothing else. A crash at any point
leaves the broker holding every unacked message for redelivery, and guid uniqueness drops
the repeats.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from consumer import dead_letters, delivery
from consumer.batch import Batch
from consumer.committer import Committer
from consumer.metrics import ConsumerMetrics
from consumer.settings import ConsumerSettings
from consumer.writer import Writer, WriteResult
from shared import amqp, errors, topology
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
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    errors.BrokerUnavailable,
    errors.PublishFailed,
    *amqp.CONNECTION_ERRORS,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Runner:
    """Consumes until `stop` is set; then finishes the batch in hand and returns."""

    def __init__(
        self,
        config: ConsumerSettings,
        writer: Writer,
        meters: ConsumerMetrics,
        stop: threading.Event,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._config = config
        self._writer = writer
        self._meters = meters
        self._stop = stop
        self._now = now
        self.connected = False

    def run(self) -> int:
        """Consume, reconnecting with backoff, until stopped. Returns the exit code."""
        backoff = Backoff(base=FIRST_WAIT_SECONDS)
        while not self._stop.is_set():
            connection = None
            try:
                connection = amqp.connect(self._config.amqp_url, name="paas-billing-consumer")
                self._consume(connection, backoff)
            except BROKER_ERRORS as exc:
                self.connected = False
                wait = backoff.next_delay()
                self._meters.errors.labels(error="broker_unavailable").inc()
                log.warning(
                    "broker_unavailable", error=str(exc) or repr(exc), retry_in_s=round(wait, 3)
                )
                self._stop.wait(wait)
            finally:
                self.connected = False
                amqp.close_quietly(connection)
        self._writer.close()
        return 0

    def _consume(self, connection: Any, backoff: Backoff) -> None:
        channel = connection.channel()
        topology.declare_events(channel)
        channel.basic_qos(prefetch_count=self._config.consumer_prefetch)
        confirm_channel = dead_letters.open_channel(connection)
        pending: deque[delivery.Delivery] = deque()

        def on_message(_ch: Any, method: Any, properties: Any, body: bytes) -> None:
            tag, key = method.delivery_tag, method.routing_key
            pending.append(delivery.Delivery(tag, key, properties, body))

        def done(batch: Batch, result: WriteResult | None) -> None:
            committer.finished()
            self._finish(batch, result, channel, confirm_channel)

        committer = Committer(self._writer, self._meters, connection, done, self._stop)
        try:
            tag = channel.basic_consume(topology.EVENTS_QUEUE, on_message_callback=on_message)
            self.connected = True
            backoff.reset()
            log.info(
                "consuming", queue=topology.EVENTS_QUEUE, prefetch=self._config.consumer_prefetch
            )
            self._loop(connection, committer, pending, lambda: channel.basic_cancel(tag))
        finally:
            committer.close()

    def _loop(
        self,
        connection: Any,
        committer: Committer,
        pending: deque[Any],
        stop_consuming: Callable[[], object],
    ) -> None:
        batch = self._new_batch()
        while True:
            if self._stop.is_set():
                # No more deliveries: what is requeued now must not come back to this consumer.
                stop_consuming()
                if len(batch):
                    committer.submit(batch)
                while committer.in_flight:
                    connection.process_data_events(time_limit=IDLE_TICK_SECONDS)
                log.info("consumer_stopping", reason="stop requested")
                return
            room = committer.in_flight < MAX_BATCHES_IN_FLIGHT
            wait = IDLE_TICK_SECONDS
            if len(batch) and room:
                wait = max(0.0, min(wait, batch.wait_seconds - batch.age()))
            connection.process_data_events(time_limit=wait)
            now = self._now()
            while pending and committer.in_flight < MAX_BATCHES_IN_FLIGHT:
                batch.add(delivery.decode(pending.popleft()))
                if batch.full():
                    committer.submit(batch)
                    batch = self._new_batch()
            if batch.due() and committer.in_flight < MAX_BATCHES_IN_FLIGHT:
                committer.submit(batch)
                batch = self._new_batch()
            self._meters.refresh_lag(now)

    def _new_batch(self) -> Batch:
        wait = self._config.consumer_batch_wait.total_seconds()
        return Batch(self._config.consumer_batch_size, wait)

    def _finish(
        self, batch: Batch, result: WriteResult | None, channel: Any, confirm_channel: Any
    ) -> None:
        """On the broker thread, after the commit: dead-letter the rejects, then ack."""
        if result is None:
            # Handed back to the queue now: left unacked, the next batch's multiple ack
            # would acknowledge these deliveries too, and their events would be lost.
            if batch.last_tag is not None:
                channel.basic_nack(delivery_tag=batch.last_tag, multiple=True, requeue=True)
            self._meters.errors.labels(error="batch_abandoned").inc()
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
            dead_letters.publish(confirm_channel, rejected, now)
            self._meters.dead_lettered.labels(kind=rejected.kind or "unknown").inc()
            with structlog.contextvars.bound_contextvars(guid=rejected.guid):
                log.warning(
                    "event_dead_lettered",
                    reason=rejected.reason,
                    kind=rejected.kind,
                    foundation=rejected.foundation,
                )
        if batch.last_tag is not None:
            channel.basic_ack(delivery_tag=batch.last_tag, multiple=True)
        self._record(batch, result)

    def _record(self, batch: Batch, result: WriteResult) -> None:
        meters = self._meters
        meters.batch_size.observe(len(batch))
        meters.batch_seconds.observe(batch.age())
        for kind, count in result.stored.items():
            if count:
                meters.stored.labels(kind=kind.value).inc(count)
        for kind in result.duplicates:
            skipped = result.duplicates[kind] + batch.repeats[kind]
            if skipped:
                meters.duplicates.labels(kind=kind.value).inc(skipped)
        for kind in EventKind:
            meters.conflicts.labels(kind=kind.value).inc(result.conflicts[kind])
            meters.unusual_times.labels(kind=kind.value).inc(result.unusual_times[kind])
        for kind, created_at in result.newest.items():
            meters.saw_newest(kind, created_at)
        log.debug(
            "batch_stored",
            size=len(batch),
            stored={k.value: v for k, v in result.stored.items()},
            rejected=len(batch.rejected) + len(result.refused),
        )
