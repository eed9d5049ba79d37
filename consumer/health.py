"""Health checks for /healthz: can this process reach PostgreSQL, is it connected to RabbitMQ."""

from __future__ import annotations

from collections.abc import Callable

from consumer.runner import Runner
from shared import db, errors


def database_check(url: str) -> Callable[[], bool]:
    """A check that opens (and closes) a connection of its own: safe from the server thread."""

    def check() -> bool:
        try:
            conn = db.connect(url, application_name="paas-billing-consumer-health")
        except errors.DatabaseUnavailable:
            return False
        db.close_quietly(conn)
        return True

    return check


def broker_check(runner: Runner) -> Callable[[], bool]:
    """A check that reports whether the runner is consuming on an open connection."""
    return lambda: runner.connected
