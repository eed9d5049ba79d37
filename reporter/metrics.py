"""The reporter's Prometheus metrics, registered on a registry built in main()."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

# Latency buckets in seconds: reports should take well under a second or two.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


class ReporterMetrics:
    """Report latency, requests by outcome, errors by kind."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.latency = Histogram(
            "paas_billing_report_duration_seconds",
            "Time from receiving a report request to its confirmed reply.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.requests = Counter(
            "paas_billing_report_requests",
            "Report requests by outcome (ok, invalid_request, unavailable, internal_error, "
            "dropped).",
            ["outcome"],
            registry=registry,
        )
        self.errors = Counter(
            "paas_billing_reporter_errors",
            "Reporter errors by kind (database, broker, internal, unreadable_request, "
            "reply_too_large, reply_unroutable, reply_refused, reply_lost).",
            ["kind"],
            registry=registry,
        )
