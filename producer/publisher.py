"""Publish pages of usage events with asynchronous publisher confirms.

A pika SelectConnection driven by a small synchronous facade: send() publishes every message
of a page (persistent, mandatory, message_id = guid) without waiting; wait() runs the I/O
loop until the broker has confirmed all of them, so a caller can fetch its next page while
the broker confirms the previous one. A nack, a basic.return (unroutable), a closed
connection or a timeout means the page is not confirmed: PublishFailed, and the caller does
not move its cursor. pika errors are translated here.

On a tested pika the frames of a page are built by `shared.amqp_frames.writing` and written
in one call; on any other, each message goes through pika's own basic_publish.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import pika
import pika.frame
import pika.spec
import structlog
from pika.adapters.select_connection import SelectConnection

from producer.confirms import Confirms
from shared import amqp, amqp_frames, errors, events, messages, topology
from shared.amqp_frames import writing
from shared.states import EventKind

log = structlog.get_logger()

# Seconds to open a connection, its channel and declare the topology.
CONNECT_TIMEOUT_SECONDS = 15.0
# Seconds to wait for the confirms of a page while the broker is not blocking us.
CONFIRM_TIMEOUT_SECONDS = 60.0
# Seconds to wait for a clean close.
CLOSE_TIMEOUT_SECONDS = 5.0


class Publisher:
    """One connection and one confirm-mode channel; reconnects on the next publish."""

    def __init__(
        self,
        amqp_url: str,
        *,
        name: str = "paas-billing-producer",
        confirm_timeout: float = CONFIRM_TIMEOUT_SECONDS,
        hand_written: bool | None = None,
    ) -> None:
        """`hand_written` forces the frames of shared.amqp_frames on or off (tests); None
        decides by the pika version."""
        self._params = amqp.parameters(amqp_url, name=name)
        self._host = self._params.host
        self._confirm_timeout = confirm_timeout
        self._connection_class = amqp_frames.publishing(hand_written)
        self._hand_written = self._connection_class is writing.PublishingConnection
        self._conn: Any = None
        self._channel: Any = None
        self._ready = False
        self._error: str | None = None
        self._blocked = False
        self._next_tag = 1
        self._in_flight: list[Confirms] = []

    @property
    def is_open(self) -> bool:
        return self._ready and self._error is None

    def connect(self) -> None:
        """Open the connection and a confirm channel, declare the topology."""
        self.close()
        self._error = None
        try:
            self._conn = self._connection_class(
                self._params,
                on_open_callback=self._on_open,
                on_open_error_callback=self._on_open_error,
                on_close_callback=self._on_closed,
            )
        except amqp.CONNECTION_ERRORS as exc:
            raise errors.BrokerUnavailable(
                f"cannot connect to RabbitMQ at {self._host}: {exc}"
            ) from exc
        self._run_until(lambda: self._ready or self._error is not None, CONNECT_TIMEOUT_SECONDS)
        if not self._ready:
            reason = self._error or "timed out"
            self.close()
            raise errors.BrokerUnavailable(f"cannot open RabbitMQ at {self._host}: {reason}")
        log.info("broker_connected", host=self._host)

    def send(self, page: Sequence[events.Message]) -> Confirms:
        """Publish without waiting for confirms; wait() on the result before trusting it."""
        if not self.is_open:
            self.connect()
        confirms = Confirms(self._next_tag, len(page))
        self._in_flight.append(confirms)
        self._next_tag += len(page)
        try:
            if self._hand_written:
                self._emit(page)
            else:
                self._publish(page)
        except amqp.CONNECTION_ERRORS as exc:
            self._fail(f"publish failed: {type(exc).__name__} {exc}")
        return confirms

    def wait(self, confirms: Confirms) -> None:
        """Return once every message of the page is confirmed; else raise PublishFailed.

        A page sent on a connection that has since been closed can never be confirmed.
        """
        if confirms not in self._in_flight and confirms.unsettled:
            raise errors.PublishFailed("the connection closed before the page was confirmed")
        self._await_confirms(confirms)
        if confirms in self._in_flight:
            self._in_flight.remove(confirms)
        if confirms.failures:
            raise errors.PublishFailed(
                f"{len(confirms.failures)} of {confirms.size} messages not confirmed: "
                f"{confirms.failures[0]}"
            )

    def idle(self, seconds: float) -> None:
        """Wait, servicing the connection (heartbeats, close notices) while it is open."""
        if self._conn is not None and self.is_open:
            self._run_until(lambda: not self.is_open, seconds)
        else:
            time.sleep(max(0.0, seconds))

    def close(self) -> None:
        """Close the connection (quietly) and forget it."""
        conn, self._conn = self._conn, None
        self._ready = False
        self._channel = None
        self._in_flight = []
        if conn is None:
            return
        try:
            if conn.is_open:
                conn.close()
                deadline = time.monotonic() + CLOSE_TIMEOUT_SECONDS
                while not conn.is_closed and time.monotonic() < deadline:
                    self._spin(conn, 0.1)
        except amqp.CONNECTION_ERRORS:
            pass
        finally:
            conn.ioloop.close()

    def _emit(self, page: Sequence[events.Message]) -> None:
        """The frames of the whole page, built by hand and written in one call."""
        conn = self._conn
        number = self._channel.channel_number
        max_body = conn.max_body
        methods = {
            kind: writing.publish_method(number, topology.EVENTS_EXCHANGE, kind.value)
            for kind in EventKind
        }
        pieces: list[bytes] = []
        frames = 0
        for message in page:
            payload = events.encode(message)
            pieces.append(methods[message.kind])
            pieces += writing.content(number, payload, message.guid, max_body)
            frames += writing.frame_count(len(payload), max_body)
        conn.emit(pieces, frames)

    def _publish(self, page: Sequence[events.Message]) -> None:
        """Each message through pika's own basic_publish: the same frames, built by pika."""
        for message in page:
            properties = pika.BasicProperties(
                content_type=messages.CONTENT_TYPE,
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=message.guid,
            )
            self._channel.basic_publish(
                topology.EVENTS_EXCHANGE,
                message.kind.value,
                events.encode(message),
                properties,
                mandatory=True,
            )

    def _await_confirms(self, confirms: Confirms) -> None:
        deadline = time.monotonic() + self._confirm_timeout
        while confirms.unsettled and self._error is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if self._blocked:  # the broker's alarm; pika closes after its blocked timeout
                    deadline = time.monotonic() + self._confirm_timeout
                    log.warning("broker_blocked_waiting", host=self._host)
                    continue
                self._fail(f"no confirms within {self._confirm_timeout:.0f}s")
            self._run_until(lambda: not confirms.unsettled or self._error is not None, remaining)
        if self._error is not None:
            self._fail(self._error)

    def _fail(self, reason: str) -> None:
        self.close()
        raise errors.PublishFailed(f"page not confirmed by RabbitMQ at {self._host}: {reason}")

    def _run_until(self, done: Callable[[], bool], timeout: float) -> None:
        conn = self._conn
        deadline = time.monotonic() + timeout
        while conn is not None and not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._spin(conn, remaining)

    @staticmethod
    def _spin(conn: SelectConnection, seconds: float) -> None:
        """Run the I/O loop for up to `seconds`; callbacks stop it early (see _poke)."""
        loop = conn.ioloop
        timer = loop.call_later(seconds, loop.stop)
        try:
            loop.start()
        finally:
            loop.remove_timeout(timer)

    def _poke(self) -> None:
        """Stop the running I/O loop so the waiting caller re-checks its condition."""
        if self._conn is not None:
            self._conn.ioloop.stop()

    # pika callbacks ---------------------------------------------------------------------

    def _on_open(self, conn: SelectConnection) -> None:
        conn.add_on_connection_blocked_callback(self._on_blocked)
        conn.add_on_connection_unblocked_callback(self._on_unblocked)
        conn.channel(on_open_callback=self._on_channel_open)

    def _on_open_error(self, _conn: SelectConnection, exc: BaseException) -> None:
        self._error = f"{type(exc).__name__} {exc}".strip()
        self._poke()

    def _on_closed(self, _conn: SelectConnection, exc: BaseException) -> None:
        if self._error is None:
            self._error = f"connection closed: {exc}"
        self._ready = False
        self._poke()

    def _on_channel_open(self, channel: Any) -> None:
        self._channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        topology.declare_events(channel)  # nowait declarations, ordered before Confirm.Select
        channel.confirm_delivery(ack_nack_callback=self._on_confirm, callback=self._on_confirming)

    def _on_confirming(self, _frame: pika.frame.Method) -> None:
        self._next_tag = 1
        self._ready = True
        self._poke()

    def _on_channel_closed(self, _channel: Any, exc: BaseException) -> None:
        self._error = f"channel closed: {exc}"
        self._ready = False
        self._poke()

    def _on_confirm(self, frame: pika.frame.Method) -> None:
        method = frame.method
        reason = "nacked by the broker" if isinstance(method, pika.spec.Basic.Nack) else None
        tag = method.delivery_tag
        for confirms in self._in_flight:
            if method.multiple or confirms.first <= tag < confirms.first + confirms.size:
                confirms.settle(tag, method.multiple, reason)
                if not confirms.unsettled:
                    self._poke()

    def _on_return(
        self,
        _channel: Any,
        method: pika.spec.Basic.Return,
        properties: pika.spec.BasicProperties,
        _body: bytes,
    ) -> None:
        # A return names no delivery tag; it precedes its message's ack, so the message is in
        # an unsettled page: fail every unsettled one (the caller resends from its cursor).
        reason = (
            f"returned unroutable ({method.reply_code} {method.reply_text}, "
            f"routing key {method.routing_key!r}, message {properties.message_id})"
        )
        for confirms in self._in_flight:
            if confirms.unsettled:
                confirms.failures.append(reason)

    def _on_blocked(self, _conn: SelectConnection, _frame: Any) -> None:
        self._blocked = True
        log.warning("broker_blocked", host=self._host, waiting_for="the broker's resource alarm")

    def _on_unblocked(self, _conn: SelectConnection, _frame: Any) -> None:
        self._blocked = False
        log.info("broker_unblocked", host=self._host)
