"""Prometheus `/metrics`, `/livez`, `/readyz` and `/healthz` over HTTP, one small server per
process.

Each process builds its own CollectorRegistry and metric objects in main() and passes them
down; this module serves them, and adds what every process exposes: process metrics (RSS,
CPU, open files, start time) and `paas_billing_build_info`. `/livez` answers 200 while the
process is alive and making progress (`shared.health.Liveness`), else 503; `/readyz` 200 when
every dependency check passes, else 503, with a JSON body naming each check; `/healthz` is
`/readyz` under the name the first releases served.
"""

from __future__ import annotations

import platform
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata

import orjson
import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    ProcessCollector,
    generate_latest,
)

from shared import health

log = structlog.get_logger()

# The paths that answer readiness (the second is the older name, kept for existing probes).
READINESS_PATHS = ("/readyz", "/healthz")


def version() -> str:
    """The installed paas-billing's version ("0" when run from a tree never installed)."""
    try:
        return metadata.version("paas-billing")
    except metadata.PackageNotFoundError:
        return "0"


def register_process(registry: CollectorRegistry, process: str) -> None:
    """Process metrics and `paas_billing_build_info{process, version, python}` (always 1)."""
    ProcessCollector(registry=registry)
    Gauge(
        "paas_billing_build_info",
        "Always 1; the labels say which paas-billing and Python run this process.",
        ["process", "version", "python"],
        registry=registry,
    ).labels(process=process, version=version(), python=platform.python_version()).set(1)


class MetricsServer:
    """Serves /metrics, /livez, /readyz and /healthz on a background thread until stop()."""

    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry,
        checks: health.Checks,
        alive: Callable[[], bool],
    ):
        self._registry = registry
        self._checks = checks
        self._alive = alive
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
        results = health.results(self._checks)
        return all(results.values()), results

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path == "/metrics":
                    self._send(200, CONTENT_TYPE_LATEST, generate_latest(server._registry))
                elif path == "/livez":
                    alive = server._alive()
                    body = orjson.dumps({"status": "ok" if alive else "stuck"})
                    self._send(200 if alive else 503, "application/json", body)
                elif path in READINESS_PATHS:
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


def _always_alive() -> bool:
    return True


def serve(
    port: int | None,
    registry: CollectorRegistry,
    checks: health.Checks,
    host: str = "0.0.0.0",  # noqa: S104
    alive: Callable[[], bool] = _always_alive,
) -> MetricsServer | None:
    """Start serving when a port is configured (METRICS_PORT); None when it is not."""
    if port is None:
        return None
    return MetricsServer(host, port, registry, checks, alive).start()
