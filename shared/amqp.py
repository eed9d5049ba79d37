"""RabbitMQ connections: parameters from AMQP_URL, pika errors translated here.

Every blocking connection reads frames through `shared.amqp_frames` (on tested pika): a
message whose properties pika cannot decode arrives with what could be read, and
`unreadable(properties)` says what could not. The consumer's also reads whole deliveries.
"""

from __future__ import annotations

import ssl
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import pika
import pika.adapters.utils.connection_workflow
import pika.exceptions
import pika.spec

from shared import amqp_frames, errors
from shared.amqp_frames import properties as frame_properties

# pika ships no types of its own, so to mypy its objects are Any; these name what they are.
# A blocking connection (pika.BlockingConnection), one of its channels (BlockingChannel),
# and a message's AMQP properties (pika.spec.BasicProperties).
Connection: TypeAlias = Any
Channel: TypeAlias = Any
Properties: TypeAlias = Any

# Seconds between AMQP heartbeats: a dead peer is noticed within about two of these.
HEARTBEAT_SECONDS = 30
# Seconds a publisher may stay blocked by a broker resource alarm before the connection fails.
BLOCKED_CONNECTION_TIMEOUT_SECONDS = 300
# Seconds to wait for the TCP connection and the AMQP handshake.
CONNECT_TIMEOUT_SECONDS = 10

# pika exceptions that mean the connection or channel is gone and must be rebuilt.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    pika.exceptions.AMQPConnectionError,
    pika.exceptions.AMQPChannelError,
    pika.exceptions.StreamLostError,
    pika.exceptions.ConnectionClosed,
    pika.exceptions.ChannelClosed,
    pika.exceptions.ChannelWrongStateError,
    pika.exceptions.ConnectionWrongStateError,
    # A handshake that timed out (e.g. a partitioned broker): not an AMQPConnectionError.
    pika.adapters.utils.connection_workflow.AMQPConnectorException,
    ConnectionError,
    OSError,
)


def parameters(url: str, *, name: str = "paas-billing") -> pika.URLParameters:
    """Connection parameters for AMQP_URL, with heartbeat, blocked timeout and TLS for amqps."""
    params = pika.URLParameters(url)
    params.heartbeat = HEARTBEAT_SECONDS
    params.blocked_connection_timeout = BLOCKED_CONNECTION_TIMEOUT_SECONDS
    params.socket_timeout = CONNECT_TIMEOUT_SECONDS
    params.stack_timeout = CONNECT_TIMEOUT_SECONDS
    params.client_properties = {"connection_name": name}
    parts = urlsplit(url)
    if parts.scheme == "amqps" and params.ssl_options is None:
        context = ssl.create_default_context()
        params.ssl_options = pika.SSLOptions(context, server_hostname=parts.hostname)
    return params


def check_url(url: str) -> None:
    """Raise ConfigError, quoting nothing of the URL, when pika cannot read AMQP_URL
    (an unknown or malformed query option, such as ?heartbeat=soon)."""
    try:
        pika.URLParameters(url)
    except Exception as exc:  # pika's URL parser raises many kinds; none may escape settings
        raise errors.ConfigError(
            f"pika cannot read it ({type(exc).__name__}: an unknown query option or value?); "
            "options such as ?heartbeat=30 are allowed"
        ) from None


def connect(
    url: str,
    *,
    name: str = "paas-billing",
    whole_deliveries: bool = False,
    hand_written: bool | None = None,
) -> pika.BlockingConnection:
    """A blocking connection; raise BrokerUnavailable naming the host when it cannot.

    `whole_deliveries` (the consumer's) reads each delivery in one step; `hand_written`
    forces the frame reading of `shared.amqp_frames` on or off (tests), None decides by the
    pika version.
    """
    impl = amqp_frames.receiving(whole_deliveries, hand_written)
    try:
        return pika.BlockingConnection(parameters(url, name=name), _impl_class=impl)
    except CONNECTION_ERRORS as exc:
        host = urlsplit(url).hostname
        raise errors.BrokerUnavailable(
            f"cannot connect to RabbitMQ at {host}: {type(exc).__name__} {exc}".strip()
        ) from exc


def unreadable(properties: Properties) -> str | None:
    """What could not be read of a delivery's properties; None when they were read whole."""
    return frame_properties.unreadable(properties)


def close_quietly(connection: pika.BlockingConnection | None) -> None:
    """Close a connection, ignoring errors from one that is already broken."""
    if connection is None:
        return
    try:
        if connection.is_open:
            connection.close()
    except CONNECTION_ERRORS:
        pass
