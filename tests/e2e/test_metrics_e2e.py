"""Each process serves /metrics and /healthz, and the counters move when events flow."""

from __future__ import annotations

import socket
from functools import partial

import orjson
import requests
from prometheus_client.parser import text_string_to_metric_families

from reporter import client
from shared.states import EventKind
from tests.support.pipeline import Pipeline, api_guids, simulator
from tests.support.wait import wait_until


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _samples(port: int) -> dict[str, float]:
    """`name{labels}` -> value for every sample the process exposes."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}"] = sample.value
    return out


def _healthz(port: int) -> tuple[int, dict[str, object]]:
    try:
        response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    except requests.ConnectionError:
        return 0, {}
    return response.status_code, response.json()


def _healthy(port: int) -> bool:
    return _healthz(port)[0] == 200


def test_metrics_and_health_answer_and_counters_move(database_url: str, amqp_url: str) -> None:
    ports = {name: _free_port() for name in ("producer", "consumer", "reporter")}
    with simulator(events=1500) as sim, Pipeline(sim.url, database_url, amqp_url) as pipe:
        expected = api_guids(sim.url)
        pipe.start_producer(METRICS_PORT=str(ports["producer"]))
        pipe.start_consumers(1, METRICS_PORT=str(ports["consumer"]))
        pipe.start_reporter(METRICS_PORT=str(ports["reporter"]))
        for name, port in ports.items():
            wait_until(partial(_healthy, port), timeout=60, what=f"{name} healthy")
            assert _healthz(port)[1]["status"] == "ok"
        pipe.wait_stored(expected)

        app = len(expected[EventKind.APP])
        wait_until(
            lambda: (
                _samples(ports["consumer"]).get(
                    "paas_billing_consumer_events_stored_total{kind=app}", 0
                )
                >= app
            ),
            timeout=30,
            what="the consumer's stored counter to reach the app events",
        )
        producer = _samples(ports["producer"])
        assert producer["paas_billing_producer_events_published_total{kind=app}"] >= app
        assert producer["paas_billing_producer_events_fetched_total{kind=service}"] >= len(
            expected[EventKind.SERVICE]
        )
        assert "paas_billing_producer_cursor_lag_seconds{kind=app}" in producer

        before = _samples(ports["reporter"])
        body = orjson.dumps({"from": "2020-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"})
        reply = client.call(amqp_url, body, timeout=60)
        assert reply is not None and reply["status"] == "ok"
        count = "paas_billing_reporter_request_duration_seconds_count{}"
        wait_until(
            lambda: _samples(ports["reporter"]).get(count, 0) > before.get(count, 0),
            timeout=30,
            what="the report latency histogram to count the report",
        )
        assert set(pipe.stop_all().values()) == {0}
