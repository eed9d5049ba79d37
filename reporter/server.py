"""The RPC loop: consume report requests, reply to `reply_to`, then ack the request.

One request at a time (prefetch 1). The report is computed on a worker thread while this
thread keeps the AMQP connections alive (heartbeats). The reply goes out on a connection of
its own (`reporter.replies`) and the request is acked whatever became of it: a reply the
broker refuses is dropped with a log line and a metric, never retried, so it cannot starve
the other requests. A reply larger than REPORT_MAX_REPLY_BYTES is replaced by an error reply
before it is sent. A request whose properties cannot be read is answered with an error when
its reply_to can be read, else dropped. A request still unacked when the reporter dies is
redelivered to another reporter. Broker loss: reconnect with bounded, jittered backoff.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pika
import structlog

from reporter import protocol, replies
from reporter.answer import Answer, Answerer
from reporter.metrics import ReporterMetrics
from shared import amqp, errors, topology
from shared.backoff import Backoff

log = structlog.get_logger()

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
        self,
        amqp_url: str,
        answerer: Answerer,
        metrics: ReporterMetrics,
        stop: threading.Event,
        max_reply_bytes: int,
    ) -> None:
        self._url = amqp_url
        self._answerer = answerer
        self._metrics = metrics
        self._stop = stop
        self._max_reply_bytes = max_reply_bytes
        self._replier = replies.Replier(amqp_url)
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
            self._replier.close()
            self._answerer.close()
        log.info("reporter_stopped")
        return 0

    def _serve(self, connection: pika.BlockingConnection) -> None:
        channel = connection.channel()
        topology.declare_reports(channel)
        channel.basic_qos(prefetch_count=1)
        self.connected = True
        log.info("reporter_listening", queue=topology.REPORT_REQUESTS_QUEUE)
        for method, properties, body in channel.consume(
            topology.REPORT_REQUESTS_QUEUE, inactivity_timeout=POLL_SECONDS
        ):
            if self._stop.is_set():
                break
            if method is None:
                self._replier.keep_alive()
                continue
            self._handle(connection, properties, body)
            # Whatever became of the reply, the request is done with: never requeued, so a
            # request whose reply the broker refuses cannot come back to refuse it again.
            channel.basic_ack(method.delivery_tag)
            if self._stop.is_set():
                break
        channel.cancel()  # unacked prefetched requests go back to the queue

    def _handle(self, connection: Any, properties: Any, body: bytes) -> None:
        started = time.monotonic()
        structlog.contextvars.bind_contextvars(correlation_id=properties.correlation_id)
        try:
            reply_to = properties.reply_to
            can_reply = isinstance(reply_to, str) and bool(reply_to)
            problem = amqp.unreadable(properties)
            if problem is not None:
                self._metrics.errors.labels(kind="unreadable_request").inc()
                log.warning("request_unreadable", problem=problem, can_reply=can_reply)
            if not can_reply:
                reason = "no reply_to" if not reply_to else "reply_to is not UTF-8 text"
                log.warning("request_dropped", reason=reason, bytes=len(body))
                self._metrics.requests.labels(outcome="dropped").inc()
                return
            if problem is not None:
                code = protocol.ErrorCode.INVALID_REQUEST
                message = f"the request's AMQP properties cannot be read: {problem}"
                reply = protocol.error_reply(code, message, "properties")
                body_out, outcome, rows = protocol.to_body(reply), code.value, 0
            else:
                body_out, outcome, rows = self._answer(connection, body)
            body_out, outcome = self._fitting(body_out, outcome)
            sent, why = self._replier.send(reply_to, properties.correlation_id, body_out)
            if sent is not replies.Sent.DELIVERED:
                self._metrics.errors.labels(kind=f"reply_{sent.value}").inc()
                log.warning("reply_dropped", sent=sent.value, reply_to=reply_to, reason=why)
            elapsed = time.monotonic() - started
            self._metrics.latency.observe(elapsed)
            self._metrics.requests.labels(outcome=outcome).inc()
            log.info(
                "report_answered",
                outcome=outcome,
                reply=sent.value,
                duration_ms=round(elapsed * 1000),
                rows=rows,
                bytes=len(body_out),
            )
        finally:
            structlog.contextvars.unbind_contextvars("correlation_id")

    def _answer(self, connection: Any, body: bytes) -> Answer:
        """Compute on the worker thread while this one keeps both connections alive."""
        future = self._worker.submit(self._safe_answer, body)
        # Wake the event pump as soon as the answer is ready.
        future.add_done_callback(lambda _: connection.add_callback_threadsafe(_nothing))
        while not future.done():
            connection.process_data_events(time_limit=PUMP_SECONDS)
            self._replier.keep_alive()
        return future.result()

    def _fitting(self, body: bytes, outcome: str) -> tuple[bytes, str]:
        """The reply body, or an error reply when it is larger than the broker takes."""
        if len(body) <= self._max_reply_bytes:
            return body, outcome
        self._metrics.errors.labels(kind="reply_too_large").inc()
        log.warning("reply_too_large", bytes=len(body), max_bytes=self._max_reply_bytes)
        code = protocol.ErrorCode.REPORT_TOO_LARGE
        message = (
            f"the report's reply would be {len(body)} bytes, more than the "
            f"{self._max_reply_bytes} the broker accepts; ask for a shorter window, "
            "fewer org_guids or space_guids, or group_by space or org"
        )
        return protocol.to_body(protocol.error_reply(code, message)), code.value

    def _safe_answer(self, body: bytes) -> Answer:
        """The reply body (serialised by the answerer: what fails to serialise is never sent),
        its outcome and size; an internal error reply if anything failed."""
        try:
            return self._answerer.answer(body)
        except Exception:  # the loop's edge: never let one request kill the reporter
            log.exception("request_failed")
            self._metrics.errors.labels(kind="internal").inc()
            code = protocol.ErrorCode.INTERNAL
            failed = protocol.error_reply(code, "the reporter failed to build a reply")
            return Answer(protocol.to_body(failed), code.value, 0)
