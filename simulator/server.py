"""The HTTP/1.1 keep-alive server around Api (stdlib ThreadingHTTPServer).

The stdlib handler parses headers with the email package, which costs about a third of a
page's server time; `handle_one_request` here reads the request line and headers itself and
writes each response in one send. Everything else (threads, sockets) is the stdlib's.
"""

from __future__ import annotations

import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import structlog

from simulator import cferrors
from simulator.api import Api
from simulator.exchange import Request, Response

log = structlog.get_logger()
# Largest request body read (token requests are tiny).
MAX_BODY = 1 << 20
# Longest request line or header line, and most header lines, accepted.
MAX_LINE = 65536
MAX_HEADERS = 100
_REASONS = {status.value: status.phrase for status in HTTPStatus}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: SimulatorServer

    def handle_one_request(self) -> None:
        line = self.rfile.readline(MAX_LINE + 1)
        if not line:
            self.close_connection = True
            return
        parts = line.decode("latin-1").split()
        if len(line) > MAX_LINE or len(parts) != 3 or not parts[2].startswith("HTTP/"):
            self._write(Response(400, b"bad request\n", "text/plain"), close=True)
            return
        method, target, version = parts
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS + 1):
            raw = self.rfile.readline(MAX_LINE + 1)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        else:
            self._write(Response(431, b"too many headers\n", "text/plain"), close=True)
            return
        length = headers.get("content-length", "0")
        if not length.isdigit():
            self._write(Response(400, b"bad content-length\n", "text/plain"), close=True)
            return
        connection = headers.get("connection", "").lower()
        close = connection == "close" or (version != "HTTP/1.1" and connection != "keep-alive")
        self._serve(method, target, headers, close)

    def _serve(self, method: str, target: str, headers: dict[str, str], close: bool) -> None:
        started = time.perf_counter()
        parts = urlsplit(target)
        length = int(headers.get("content-length") or 0)
        body = self.rfile.read(min(length, MAX_BODY)) if length else b""
        request = Request(
            method,
            parts.path,
            parse_qsl(parts.query, keep_blank_values=True),
            headers,
            body,
            parts.query,
        )
        try:
            response = self.server.api.handle(request)
        except Exception:
            log.exception("request_failed", method=method, path=parts.path)
            response = cferrors.v2_unknown()
        self._write(response, close, head=method == "HEAD")
        log.debug(
            "request",
            method=method,
            path=parts.path,
            status=response.status,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    def _write(self, response: Response, close: bool, head: bool = False) -> None:
        lines = [
            f"HTTP/1.1 {response.status} {_REASONS.get(response.status, '')}",
            f"Date: {self.date_time_string()}",
        ]
        if response.content_type is not None:
            lines.append(f"Content-Type: {response.content_type}")
        lines += [f"{name}: {value}" for name, value in response.headers.items()]
        lines.append(f"Content-Length: {len(response.body)}")
        if close:
            lines.append("Connection: close")
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(payload if head else payload + response.body)
        self.close_connection = close

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the stdlib's stderr access log; requests are logged through structlog."""


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, host: str, port: int, api: Api) -> None:
        self.api = api
        super().__init__((host, port), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])
