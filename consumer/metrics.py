"""The consumer's Prometheus metrics, built on a registry that main() passes in.

Every name begins with `paas_billing_consumer_`; labelled series exist from the start (at 0),
so that `increase()` sees the first dead letter or error, not only the second.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.states import EventKind

# Buckets for the number of events in a batch.
BATCH_SIZE_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2000, 5000)
# Errors counted, by the name the loop gives them.
ERRORS = ("broker_unavailable", "batch_abandoned", "database_unavailable", "database_refused")
# Buckets for the seconds a batch takes from first delivery to ack.
BATCH_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class ConsumerMetrics:
    """Counters, histograms and gauges of one consumer process."""

    def __init__(self, registry: CollectorRegistry) -> None:
        prefix = "paas_billing_consumer"
        self.stored = Counter(
            f"{prefix}_events_stored", "Events newly stored.", ["kind"], registry=registry
        )
        self.duplicates = Counter(
            f"{prefix}_duplicates_skipped",
            "Events skipped because their guid was already stored or repeated in the batch.",
            ["kind"],
            registry=registry,
        )
        self.dead_lettered = Counter(
            f"{prefix}_dead_lettered",
            "Messages sent to the dead-letter exchange.",
            ["kind"],
            registry=registry,
        )
        self.conflicts = Counter(
            f"{prefix}_conflicts",
            "Events set aside because a stored event holds their guid with other facts, or "
            "their sequence number (the stored one is kept).",
            ["kind"],
            registry=registry,
        )
        self.unusual_times = Counter(
            f"{prefix}_unusual_times",
            "Events stored whose time is before 2010 or more than a day ahead.",
            ["kind"],
            registry=registry,
        )
        for kind in EventKind:  # present from the start, so that increase() sees the first
            for counter in (
                self.stored, self.duplicates, self.dead_lettered, self.conflicts,
                self.unusual_times,
            ):  # fmt: skip
                counter.labels(kind=kind.value)
        self.batch_size = Histogram(
            f"{prefix}_batch_size",
            "Messages per batch.",
            buckets=BATCH_SIZE_BUCKETS,
            registry=registry,
        )
        self.batch_seconds = Histogram(
            f"{prefix}_batch_seconds",
            "Seconds from a batch's first delivery to its ack.",
            buckets=BATCH_SECONDS_BUCKETS,
            registry=registry,
        )
        self.lag = Gauge(
            f"{prefix}_newest_event_age_seconds",
            "Age of the newest event this consumer stored (by its created_at), per kind: "
            "how far behind the Cloud Controller the stored events are, when events flow.",
            ["kind"],
            registry=registry,
        )
        self.errors = Counter(f"{prefix}_errors", "Errors by kind.", ["error"], registry=registry)
        for error in ERRORS:
            self.errors.labels(error=error)
        self._newest: dict[EventKind, datetime] = {}

    def saw_newest(self, kind: EventKind, created_at: datetime) -> None:
        """Remember the newest stored event time of a kind."""
        known = self._newest.get(kind)
        if known is None or created_at > known:
            self._newest[kind] = created_at

    def refresh_lag(self, now: datetime) -> None:
        """Set the lag gauges from the newest stored events."""
        for kind, created_at in self._newest.items():
            self.lag.labels(kind=kind.value).set(max(0.0, (now - created_at).total_seconds()))
