"""The API's Prometheus metrics, registered on a registry built in main()."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

# Latency buckets in seconds, from a cached token check to a long report.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip


class ApiMetrics:
    """Requests by route and status, their latency, and the time of each stage."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "paas_billing_api_requests",
            "HTTP requests answered, by route and status code.",
            ["route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "paas_billing_api_request_duration_seconds",
            "Time from a request's arrival to its answer, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.stage = Histogram(
            "paas_billing_api_stage_seconds",
            "Time spent per request stage: token (verifying the token), roles (the user's "
            "org roles, cached or asked of the Cloud Controller), db_wait (waiting for a "
            "database connection), report (computing the report), serialize (to JSON).",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.errors = Counter(
            "paas_billing_api_errors",
            "Dependency errors by kind (database, uaa, cloud_controller, internal).",
            ["kind"],
            registry=registry,
        )
        for kind in ("database", "uaa", "cloud_controller", "internal"):
            self.errors.labels(kind=kind)  # present from the start, for increase()
