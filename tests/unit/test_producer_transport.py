"""The HTTP transport: user agent, TLS verification switch with a warning, no secrets logged."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from structlog.testing import capture_logs

from shared import errors
from shared.transport import Transport


@pytest.fixture
def echo_server() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A loopback HTTP server that records request headers and answers 429 Retry-After: 3."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(dict(self.headers))
            self.send_response(429)
            self.send_header("Retry-After", "3")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_transport_sends_user_agent_and_reads_retry_after(
    echo_server: tuple[str, list[dict[str, str]]],
) -> None:
    url, seen = echo_server
    reply = Transport("paas-billing/9.9").get(url + "/v2/app_usage_events")
    assert reply.status == 429
    assert reply.retry_after == 3.0
    assert seen[0]["User-Agent"] == "paas-billing/9.9"


def test_transport_skip_ssl_validation_warns() -> None:
    with capture_logs() as logs:
        transport = Transport("ua", verify_tls=False)
    assert any(e["event"] == "tls_verification_disabled" for e in logs)
    transport.close()


def test_transport_refused_connection_is_unavailable_without_query_secrets() -> None:
    with pytest.raises(errors.CloudFoundryUnavailable) as failed:
        Transport("ua").get("http://127.0.0.1:1/v2/app_usage_events?after_guid=x")
    assert "after_guid" not in str(failed.value)
