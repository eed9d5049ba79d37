"""The test proxy itself: forwards, cuts live connections, holds or refuses new ones, restores."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def echo() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=lambda c=conn: _echo(c), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def _echo(conn: socket.socket) -> None:
    with conn, contextlib.suppress(OSError):
        while data := conn.recv(1024):
            conn.sendall(data)


def _round_trip(port: int, payload: bytes = b"ping") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(payload)
        return sock.recv(1024)


def test_tcp_proxy_forwards_cuts_holds_and_restores(echo: int) -> None:
    with TcpProxy("127.0.0.1", echo) as proxy:
        assert _round_trip(proxy.port) == b"ping"
        live = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
        live.sendall(b"a")
        assert live.recv(10) == b"a"
        proxy.cut()
        assert live.recv(10) == b""  # the live connection was closed
        live.close()
        with pytest.raises(TimeoutError):  # a new one is accepted but never answered
            _round_trip(proxy.port)
        proxy.restore()
        assert _round_trip(proxy.port) == b"ping"
        assert proxy.url_for("amqp://u:p@10.0.0.1:5672/v") == f"amqp://u:p@127.0.0.1:{proxy.port}/v"


def test_tcp_proxy_refusing_closes_new_connections(echo: int) -> None:
    with TcpProxy("127.0.0.1", echo, refuse=True) as proxy:
        proxy.cut()
        assert _round_trip(proxy.port) == b""


def test_tcp_proxy_paused_reads_leave_bytes_unread(echo: int) -> None:
    with TcpProxy("127.0.0.1", echo) as proxy:
        sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
        sock.sendall(b"x")
        assert sock.recv(10) == b"x"
        proxy.pause_reads()
        sock.sendall(b"y" * 5000)
        with pytest.raises(TimeoutError):
            sock.recv(10)
        assert proxy.unread_bytes() >= 5000
        proxy.resume_reads()
        received = b""
        while len(received) < 5000:
            received += sock.recv(65536)
        sock.close()
