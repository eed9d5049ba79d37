"""The answerer: an unreachable database gives an `unavailable` reply after bounded retries."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import CollectorRegistry

from reporter import protocol
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
    reply, outcome = answerer.answer(GOOD)
    assert isinstance(reply, protocol.ErrorReply)
    assert (reply.error.code, outcome) == (protocol.ErrorCode.UNAVAILABLE, "unavailable")
    assert waits == [0.01, 0.02]
    assert (
        registry.get_sample_value("paas_billing_reporter_errors_total", {"kind": "database"}) == 3
    )


def test_report_answer_ok_and_invalid(database_url: str) -> None:
    answerer, _ = _answerer(database_url, [])
    reply, outcome = answerer.answer(GOOD)
    assert isinstance(reply, protocol.OkReply) and outcome == "ok"
    bad, outcome = answerer.answer(b"{}")
    assert isinstance(bad, protocol.ErrorReply) and bad.error.field == "from"
    answerer.close()
