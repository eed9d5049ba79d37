"""SIGTERM handling, the same for every process: the first asks for a clean stop, a second
exits at once."""

from __future__ import annotations

import os
import signal
import threading
import time
from types import FrameType

import structlog

log = structlog.get_logger()

# Exit status of an immediate exit on a second signal (128 + SIGTERM, as a shell reports it).
EXIT_IMMEDIATE = 128 + signal.SIGTERM


class StopSignal(threading.Event):
    """Set by the first SIGTERM or SIGINT; the loop finishes the work in hand and returns.

    Every loop looks at it each turn, so the time it was last looked at tells liveness
    (`shared.health`) that the loop still turns, without the loop knowing about probes.
    """

    def __init__(self, finishing: str = "finishing the work in hand") -> None:
        super().__init__()
        self._finishing = finishing
        # Monotonic time the signal was last looked at (read from the health thread).
        self.last_looked = time.monotonic()

    def look(self) -> None:
        self.last_looked = time.monotonic()

    def is_set(self) -> bool:
        self.last_looked = time.monotonic()
        return super().is_set()

    @property
    def requested(self) -> bool:
        return self.is_set()

    def install(self) -> StopSignal:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.is_set():
            os._exit(EXIT_IMMEDIATE)
        self.set()
        log.info(
            "stop_requested",
            signal=signal.Signals(signum).name,
            action=f"{self._finishing}; signal again to exit at once",
        )
