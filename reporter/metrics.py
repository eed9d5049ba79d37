"""The reporter's Prometheus metrics, registered on a registry built in main().

Every name begins with `paas_billing_reporter_`; labelled series exist from the start (at 0),
so that `increase()` sees the first error, not only the second.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from reporter.protocol import ErrorCode

# Latency buckets in seconds: reports should take well under a second or two.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
# Outcomes a request is counted under: ok, each error code, and dropped (no reply_to).
OUTCOMES = ("ok", *(code.value for code in ErrorCode), "dropped")
# Kinds of errors counted.
ERROR_KINDS = (
    "database", "broker", "internal", "unreadable_request", "reply_too_large",
    "reply_unroutable", "reply_refused", "reply_lost",
)  # fmt: skip


class ReporterMetrics:
    """Request latency, requests by outcome, errors by kind, closed months that differ."""

    def __init__(self, registry: CollectorRegistry) -> None:
        prefix = "paas_billing_reporter"
        self.latency = Histogram(
            f"{prefix}_request_duration_seconds",
            "Time from receiving a report or bill request to its confirmed reply.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.requests = Counter(
            f"{prefix}_requests",
            f"Report and bill requests by outcome ({', '.join(OUTCOMES)}).",
            ["outcome"],
            registry=registry,
        )
        self.errors = Counter(
            f"{prefix}_errors",
            f"Reporter errors by kind ({', '.join(ERROR_KINDS)}).",
            ["kind"],
            registry=registry,
        )
        self.closed_month_differs = Gauge(
            f"{prefix}_closed_month_differs",
            "1 when the last bill of a whole closed month (no filters) that this reporter "
            "answered would differ if computed now (differs_now), else 0.",
            ["month"],
            registry=registry,
        )
        for outcome in OUTCOMES:
            self.requests.labels(outcome=outcome)
        for kind in ERROR_KINDS:
            self.errors.labels(kind=kind)
