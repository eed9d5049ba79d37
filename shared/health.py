"""What /livez and /readyz answer: liveness is about this process, readiness about the rest.

Liveness says only whether the process is alive and making progress on what it controls:
its loop keeps turning (it looks at its stop signal every turn, busy or waiting for a
dependency). An outage of PostgreSQL, RabbitMQ or the Cloud Controller never fails it, so an
orchestrator does not restart healthy processes again and again; while the process starts
(waiting for or applying migrations, which may take long on a big database) it is alive.
Readiness covers the dependencies: the schema this code needs, the database, the broker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from shared.shutdown import StopSignal

# A health check: name -> callable returning True when that dependency is usable.
Checks = Mapping[str, Callable[[], bool]]
# Seconds a loop may go without looking at its stop signal before it is called stuck: above
# the longest bounded wait of any loop (a database statement, a broker confirm, a backoff).
DEFAULT_STALL_SECONDS = 300.0


class Liveness:
    """Alive while starting; once running, alive while the loop looked at `stop` lately."""

    def __init__(self, stop: StopSignal, stall_seconds: float = DEFAULT_STALL_SECONDS) -> None:
        self._stop = stop
        self._stall = stall_seconds
        self._running = threading.Event()

    def running(self) -> None:
        """The start-up is over (schema ready): from now on the loop must keep turning."""
        self._stop.look()
        self._running.set()

    def alive(self) -> bool:
        # Event.is_set, not the signal's own: the health thread must not count as a look.
        if not self._running.is_set() or threading.Event.is_set(self._stop):
            return True
        return time.monotonic() - self._stop.last_looked < self._stall


class SchemaReady:
    """A readiness check that passes once the start-up found (or made) the schema current."""

    def __init__(self) -> None:
        self._ready = threading.Event()

    def set(self) -> None:
        self._ready.set()

    def __call__(self) -> bool:
        return self._ready.is_set()


def results(checks: Checks) -> dict[str, bool]:
    """Each check's outcome; a check that raises is a failing check, never a crash."""
    out: dict[str, bool] = {}
    for name, check in dict(checks).items():  # a copy: main() may add checks meanwhile
        try:
            out[name] = bool(check())
        except Exception:  # a failing check is an unusable dependency
            out[name] = False
    return out


class Probes:
    """One process's health: liveness from its stop signal; readiness from the schema and
    the dependency checks main() adds as it builds the collaborators."""

    def __init__(self, stop: StopSignal, stall_seconds: float = DEFAULT_STALL_SECONDS) -> None:
        self.liveness = Liveness(stop, stall_seconds)
        self.schema = SchemaReady()
        self.checks: dict[str, Callable[[], bool]] = {"schema": self.schema}

    def add(self, name: str, check: Callable[[], bool]) -> None:
        self.checks[name] = check

    def running(self) -> None:
        """The schema is this code's and the loop starts."""
        self.schema.set()
        self.liveness.running()
