"""Prometheus `/metrics` and `/healthz` over HTTP, one small server per process.

Each process builds its own CollectorRegistry and metric objects in main() and passes them
down; this module only serves them. `/healthz` answers 200 when every check passes, else 503,
with a JSON body naming each check.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = structlog.get_logger()

# A health check: name -> callable returning True when that dependency is reachable.
HealthChecks = Mapping[str, Callable[[], bool]]


class MetricsServer:
    """Serves /metrics and /healthz on a background thread until stop()."""

    def __init__(self, host: str, port: int, registry: CollectorRegistry, checks: HealthChecks):
        self._registry = registry
        self._checks = checks
        handler = self._handler_class()
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> MetricsServer:
        self._thread.start()
        log.info("metrics_listening", port=self.port)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def health(self) -> tuple[bool, dict[str, bool]]:
        results: dict[str, bool] = {}
        for name, check in self._checks.items():
            try:
                results[name] = bool(check())
            except Exception:  # a failing check is an unhealthy dependency, not a crash
                results[name] = False
        return all(results.values()), results

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/metrics":
                    self._send(200, CONTENT_TYPE_LATEST, generate_latest(server._registry))
                elif self.path.split("?")[0] == "/healthz":
                    healthy, results = server.health()
                    body = orjson.dumps({"status": "ok" if healthy else "unhealthy", **results})
                    self._send(200 if healthy else 503, "application/json", body)
                else:
                    self._send(404, "text/plain", b"not found\n")

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler


def serve(
    port: int | None,
    registry: CollectorRegistry,
    checks: HealthChecks,
    host: str = "0.0.0.0",  # noqa: S104
) -> MetricsServer | None:
    """Start serving when a port is configured (METRICS_PORT); None when it is not."""
    if port is None:
        return None
    return MetricsServer(host, port, registry, checks).start()
