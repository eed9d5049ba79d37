"""The producer's Prometheus metrics, registered on the registry main() builds.

Every name begins with `paas_billing_producer_`; labelled series exist from the start.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.states import EventKind


class ProducerMetrics:
    """Counters, gauges and histograms of one producer process."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.fetched = Counter(
            "paas_billing_producer_events_fetched",
            "Usage events read from the CF API",
            ["kind"],
            registry=registry,
        )
        self.published = Counter(
            "paas_billing_producer_events_published",
            "Usage events confirmed by the broker",
            ["kind"],
            registry=registry,
        )
        self.api_errors = Counter(
            "paas_billing_producer_api_errors",
            "CF API or UAA answers that were not a page (status 0: no answer)",
            ["kind", "status"],
            registry=registry,
        )
        self.confirm_seconds = Histogram(
            "paas_billing_producer_publish_confirm_seconds",
            "Time from publishing a page to the broker confirming all of it",
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self.cursor_lag = Gauge(
            "paas_billing_producer_cursor_lag_seconds",
            "Age of the event the saved cursor names",
            ["kind"],
            registry=registry,
        )
        self.last_poll = Gauge(
            "paas_billing_producer_last_successful_poll_timestamp_seconds",
            "Unix time of the last poll that fetched and handed over a page",
            ["kind"],
            registry=registry,
        )
        for kind in EventKind:  # present from the start, so that increase() sees the first
            self.fetched.labels(kind=kind.value)
            self.published.labels(kind=kind.value)
