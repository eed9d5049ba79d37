"""The answerer: an unreachable database gives an `unavailable` reply after bounded retries."""

from __future__ import annotations

from datetime import timedelta

import orjson
from prometheus_client import CollectorRegistry

from reporter.answer import Answerer
from reporter.metrics import ReporterMetrics
from reporter.settings import ReporterSettings

GOOD = b'{"from": "2026-10-01T00:00:00Z", "to": "2026-10-02T00:00:00Z"}'


def _answerer(database_url: str, waits: list[float]) -> tuple[Answerer, CollectorRegistry]:
    config = ReporterSettings(
        database_url=database_url,
        amqp_url="amqp://guest:guest@127.0.0.1:5672/%2f",
        report_db_retries=2,
        report_db_retry_wait=timedelta(milliseconds=10),
    )
    registry = CollectorRegistry()
    return Answerer(config, ReporterMetrics(registry), sleep=waits.append), registry


def test_report_answer_unavailable_after_bounded_retries() -> None:
    waits: list[float] = []
    answerer, registry = _answerer("postgresql://postgres@127.0.0.1:1/none", waits)
    answer = answerer.answer(GOOD)
    reply = orjson.loads(answer.body)
    assert (reply["status"], reply["error"]["code"]) == ("error", "unavailable")
    assert answer.outcome == "unavailable"
    assert waits == [0.01, 0.02]
    assert (
        registry.get_sample_value("paas_billing_reporter_errors_total", {"kind": "database"}) == 3
    )


def test_report_answer_ok_and_invalid(database_url: str) -> None:
    answerer, _ = _answerer(database_url, [])
    answer = answerer.answer(GOOD)
    assert orjson.loads(answer.body)["status"] == "ok" and answer.outcome == "ok"
    bad = orjson.loads(answerer.answer(b"{}").body)
    assert bad["error"]["field"] == "from"
    bill = orjson.loads(answerer.answer(b'{"type": "bill", ' + GOOD[1:]).body)
    assert bill["status"] == "ok" and bill["bill"]["orgs"] == [] and bill["bill"]["closed"] is None
    wrong = orjson.loads(answerer.answer(b'{"type": "invoice", ' + GOOD[1:]).body)
    assert wrong["error"]["field"] == "type"
    answerer.close()
