"""A server that accepts the TCP connection and then says nothing (a partition, a hung broker)
is reported as unavailable by the I/O edge, never as a driver exception that kills a loop."""

from __future__ import annotations

import pytest

from shared import amqp, db, errors
from tests.support.tcp_proxy import TcpProxy


def test_connect_to_silent_broker_is_broker_unavailable(amqp_url: str) -> None:
    """Regression: pika's handshake timeout (AMQPConnectorStackTimeout) escaped and crashed
    both consumers of a 60 s outage run."""
    with TcpProxy.for_url(amqp_url, 5672) as proxy:
        proxy.cut()
        with pytest.raises(errors.BrokerUnavailable):
            amqp.connect(proxy.url_for(amqp_url))


def test_connect_to_silent_database_is_database_unavailable(database_url: str) -> None:
    with TcpProxy.for_url(database_url, 5432) as proxy:
        proxy.cut()
        with pytest.raises(errors.DatabaseUnavailable):
            db.connect(proxy.url_for(database_url))
