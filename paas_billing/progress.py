"""The demo's live line: events fetched (producer metrics) and stored (the database)."""

from __future__ import annotations

import sys
import threading
import time
import urllib.request
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

from paas_billing import children
from shared import db, errors

# Seconds between two refreshes of the live line.
REFRESH_SECONDS = 0.5
# The producer's counter of events the broker confirmed.
PUBLISHED_METRIC = "paas_billing_producer_events_published"
# Seconds over which the live rate is measured.
RATE_WINDOW_SECONDS = 5.0


def wait_for(
    condition: Callable[[], object], stop: threading.Event, running: children.Children
) -> bool:
    """Poll until `condition` holds; False when stopped or a child died first."""
    while not condition():
        if stop.wait(REFRESH_SECONDS) or _child_died(running):
            return False
    return True


class Meter:
    """Reads the two figures and prints them on one line (rewritten in place on a terminal)."""

    def __init__(self, database_url: str, producer_metrics_port: int) -> None:
        self.database_url = database_url
        self.metrics_url = f"http://127.0.0.1:{producer_metrics_port}/metrics"
        self.queries = db.load_queries("paas_billing.sql", "demo.sql")
        self._samples: list[tuple[float, int]] = []
        self._last_plain_print = 0.0

    def until_stored(self, target: int, stop: threading.Event, running: children.Children) -> bool:
        return wait_for(lambda: self.show() >= target, stop, running)

    def until_stopped(self, stop: threading.Event, running: children.Children) -> None:
        wait_for(lambda: self.show() < 0, stop, running)

    def show(self) -> int:
        published = self.published()
        app, service = self.stored()
        stored = app + service
        line = (
            f"published {published:>8,}  stored {stored:>8,} (app {app:,}, service {service:,})"
            f"  {self._rate(stored):>7,.0f} events/s"
        )
        if sys.stdout.isatty():
            print(f"\r{line}", end="", flush=True)
        elif time.monotonic() - self._last_plain_print >= 1.0:
            print(line, flush=True)
            self._last_plain_print = time.monotonic()
        return stored

    def _rate(self, stored: int) -> float:
        now = time.monotonic()
        self._samples = [s for s in self._samples if now - s[0] <= RATE_WINDOW_SECONDS]
        self._samples.append((now, stored))
        first_at, first_stored = self._samples[0]
        return (stored - first_stored) / (now - first_at) if now > first_at else 0.0

    def published(self) -> int:
        try:
            with urllib.request.urlopen(self.metrics_url, timeout=2) as response:  # noqa: S310
                text = response.read().decode()
        except OSError:
            return 0
        return int(
            sum(
                sample.value
                for family in text_string_to_metric_families(text)
                if family.name == PUBLISHED_METRIC
                for sample in family.samples
                if sample.name.endswith("_total")
            )
        )

    def stored(self) -> tuple[int, int]:
        try:
            conn = db.connect(self.database_url, application_name="paas-billing-demo")
        except errors.DatabaseUnavailable:
            return 0, 0
        try:
            with db.transaction(conn) as cursor:
                cursor.execute(self.queries["stored_counts"])
                app, service = cursor.fetchone() or (0, 0)
            return int(app), int(service)
        finally:
            db.close_quietly(conn)


def _child_died(running: children.Children) -> bool:
    child = running.first_exited()
    if child is None:
        return False
    print(
        f"\ndemo: {child.name} exited with {child.exited()}; its last lines:\n{child.tail()}",
        file=sys.stderr,
    )
    return True
