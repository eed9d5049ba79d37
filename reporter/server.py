"""The RPC loop: consume report requests, reply to `reply_to`, ack after the reply is confirmed.

One request at a time (prefetch 1). The report is computed on a worker thread while this
thread keeps the AMQP connection alive (heartbeats). A request still unacked when the
reporter dies is redelivered to another reporter. Broker loss: reconnect with bounded,
jittered backoff.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pika
import pika.exceptions
import structlog

from reporter import protocol
from reporter.answer import Answerer
from reporter.metrics import ReporterMetrics
from shared import amqp, errors, topology
from shared.backoff import Backoff
from shared.messages import CONTENT_TYPE

log = structlog.get_logger()

# RabbitMQ's direct reply-to pseudo-queue: the broker returns a mandatory message addressed
# to it as unroutable even when it delivers it, so such replies go without `mandatory`.
DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"

# Seconds the consume loop waits for a request before looking at the stop flag again.
POLL_SECONDS = 1.0
# Reconnect backoff: first wait, ceiling, in seconds (jittered, see shared.backoff).
RECONNECT_FIRST_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 30.0
# Longest AMQP event pump while a report is computed (the answer wakes it earlier).
PUMP_SECONDS = 1.0


def _nothing() -> None:
    return None


class Server:
    """Answers report requests until `stop` is set; the request in hand is always finished."""

    def __init__(
        self, amqp_url: str, answerer: Answerer, metrics: ReporterMetrics, stop: threading.Event
    ) -> None:
        self._url = amqp_url
        self._answerer = answerer
        self._metrics = metrics
        self._stop = stop
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report")
        self.connected = False

    def run(self) -> int:
        backoff = Backoff(cap=RECONNECT_MAX_SECONDS, base=RECONNECT_FIRST_SECONDS)
        try:
            while not self._stop.is_set():
                try:
                    connection = amqp.connect(self._url, name="paas-billing-reporter")
                except errors.BrokerUnavailable as exc:
                    delay = backoff.next_delay()
                    log.warning("broker_unavailable", retry_in_s=round(delay, 2), error=str(exc))
                    self._metrics.errors.labels(kind="broker").inc()
                    self._stop.wait(delay)
                    continue
                backoff.reset()
                try:
                    self._serve(connection)
                except amqp.CONNECTION_ERRORS as exc:
                    self._metrics.errors.labels(kind="broker").inc()
                    log.warning("broker_connection_lost", error=f"{type(exc).__name__} {exc}")
                finally:
                    self.connected = False
                    amqp.close_quietly(connection)
        finally:
            self._worker.shutdown(wait=True)
            self._answerer.close()
        log.info("reporter_stopped")
        return 0

    def _serve(self, connection: pika.BlockingConnection) -> None:
        channel = connection.channel()
        topology.declare_reports(channel)
        channel.basic_qos(prefetch_count=1)
        channel.confirm_delivery()
        self.connected = True
        log.info("reporter_listening", queue=topology.REPORT_REQUESTS_QUEUE)
        for method, properties, body in channel.consume(
            topology.REPORT_REQUESTS_QUEUE, inactivity_timeout=POLL_SECONDS
        ):
            if self._stop.is_set():
                break
            if method is None:
                continue
            self._handle(connection, channel, method, properties, body)
            if self._stop.is_set():
                break
        channel.cancel()  # unacked prefetched requests go back to the queue

    def _handle(
        self, connection: Any, channel: Any, method: Any, properties: Any, body: bytes
    ) -> None:
        started = time.monotonic()
        structlog.contextvars.bind_contextvars(correlation_id=properties.correlation_id)
        try:
            if not properties.reply_to:
                log.warning("request_dropped", reason="no reply_to", bytes=len(body))
                self._metrics.requests.labels(outcome="dropped").inc()
                channel.basic_ack(method.delivery_tag)
                return
            future = self._worker.submit(self._safe_answer, body)
            # Wake the event pump as soon as the answer is ready.
            future.add_done_callback(lambda _: connection.add_callback_threadsafe(_nothing))
            while not future.done():
                connection.process_data_events(time_limit=PUMP_SECONDS)
            reply, body_out, outcome = future.result()
            if self._publish(channel, properties, body_out):
                channel.basic_ack(method.delivery_tag)
            else:
                channel.basic_nack(method.delivery_tag, requeue=True)
                return
            elapsed = time.monotonic() - started
            self._metrics.latency.observe(elapsed)
            self._metrics.requests.labels(outcome=outcome).inc()
            rows = len(reply.report.rows) if isinstance(reply, protocol.OkReply) else 0
            log.info(
                "report_answered", outcome=outcome, duration_ms=round(elapsed * 1000), rows=rows
            )
        finally:
            structlog.contextvars.unbind_contextvars("correlation_id")

    def _safe_answer(self, body: bytes) -> tuple[protocol.Reply, bytes, str]:
        """The reply, its body (serialised once, here: what fails to serialise is never sent)
        and the outcome; an internal error reply if anything failed."""
        try:
            reply, outcome = self._answerer.answer(body)
            return reply, protocol.to_body(reply), outcome
        except Exception:  # the loop's edge: never let one request kill the reporter
            log.exception("request_failed")
            self._metrics.errors.labels(kind="internal").inc()
            code = protocol.ErrorCode.INTERNAL
            failed = protocol.error_reply(code, "the reporter failed to build a reply")
            return failed, protocol.to_body(failed), code.value

    def _publish(self, channel: Any, properties: Any, body: bytes) -> bool:
        """Publish with confirms; False when the broker refused it (nack): requeue the request."""
        reply_properties = pika.BasicProperties(
            correlation_id=properties.correlation_id,
            content_type=CONTENT_TYPE,
            delivery_mode=pika.DeliveryMode.Persistent,
        )
        try:
            channel.basic_publish(
                exchange="",
                routing_key=properties.reply_to,
                body=body,
                properties=reply_properties,
                mandatory=not properties.reply_to.startswith(DIRECT_REPLY_TO),
            )
        except pika.exceptions.UnroutableError:
            self._metrics.errors.labels(kind="reply_unroutable").inc()
            log.warning("reply_unroutable", reply_to=properties.reply_to)
        except pika.exceptions.NackError:
            self._metrics.errors.labels(kind="reply_nacked").inc()
            log.error("reply_nacked", reply_to=properties.reply_to)
            return False
        return True
