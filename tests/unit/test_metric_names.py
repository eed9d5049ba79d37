"""One prefix per process, labelled series present from the start, build info and process
metrics everywhere: what the alert rules and the dashboard rely on."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry

from consumer.metrics import ConsumerMetrics
from producer.metrics import ProducerMetrics
from reporter.metrics import ReporterMetrics
from shared import metrics
from tenant_api.metrics import ApiMetrics

PROCESSES: dict[str, Callable[[CollectorRegistry], object]] = {
    "producer": ProducerMetrics,
    "consumer": ConsumerMetrics,
    "reporter": ReporterMetrics,
    "api": ApiMetrics,
}


def _samples(registry: CollectorRegistry) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in registry.collect():
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}"] = sample.value
    return out


@pytest.mark.parametrize("process", sorted(PROCESSES))
def test_every_metric_of_a_process_carries_its_prefix(process: str) -> None:
    registry = CollectorRegistry()
    PROCESSES[process](registry)
    metrics.register_process(registry, process)
    names = {family.name for family in registry.collect()}
    own = {n for n in names if not n.startswith(("process_", "paas_billing_build_info"))}
    assert own and all(n.startswith(f"paas_billing_{process}_") for n in own), sorted(own)
    assert f"paas_billing_build_info{{process={process},python=" in "".join(_samples(registry))
    assert "process_resident_memory_bytes" in names and "process_start_time_seconds" in names


def test_first_dead_letter_and_first_error_have_a_series_at_zero_before_them() -> None:
    consumer = CollectorRegistry()
    ConsumerMetrics(consumer)
    samples = _samples(consumer)
    for kind in ("app", "service"):
        assert samples[f"paas_billing_consumer_dead_lettered_total{{kind={kind}}}"] == 0
        assert samples[f"paas_billing_consumer_events_stored_total{{kind={kind}}}"] == 0
    assert samples["paas_billing_consumer_errors_total{error=database_unavailable}"] == 0
    reporter = CollectorRegistry()
    ReporterMetrics(reporter)
    samples = _samples(reporter)
    assert samples["paas_billing_reporter_requests_total{outcome=internal_error}"] == 0
    assert samples["paas_billing_reporter_errors_total{kind=database}"] == 0
    producer = CollectorRegistry()
    ProducerMetrics(producer)
    assert _samples(producer)["paas_billing_producer_events_published_total{kind=app}"] == 0
