"""uvicorn, run with the house's signal rules: the first SIGTERM (or SIGINT) stops taking
connections and lets the requests in hand finish, then the process exits 0; a second
exits at once."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections.abc import Iterator
from types import FrameType

import structlog
import uvicorn
from fastapi import FastAPI

from shared.shutdown import EXIT_IMMEDIATE

log = structlog.get_logger()

# Seconds an idle keep-alive connection is kept open.
KEEP_ALIVE_SECONDS = 5


class ApiServer(uvicorn.Server):
    def __init__(self, app: FastAPI, host: str, port: int, grace_seconds: float) -> None:
        super().__init__(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_config=None,  # structlog is configured in main()
                access_log=False,  # AccessLog logs each answer
                server_header=False,
                proxy_headers=False,
                timeout_keep_alive=KEEP_ALIVE_SECONDS,
                timeout_graceful_shutdown=int(grace_seconds),
                lifespan="off",
            )
        )

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            log.info("api_listening", host=self.config.host, port=self.config.port)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.should_exit:
            os._exit(EXIT_IMMEDIATE)
        self.should_exit = True
        log.info(
            "stop_requested",
            signal=signal.Signals(signum).name,
            action="finishing the requests in hand; signal again to exit at once",
        )
