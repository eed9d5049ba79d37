"""The contract's four columns suffice: the same events stored once through the real pipeline
(simulator, producer, consumer) and once by a COPY of id, guid, created_at and raw_message
alone give identical reports and bills (issue 15)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg2
import pytest

from reporter import bill, bill_assembly, bill_protocol, protocol, usage
from shared import db, pricing_file, pricing_store
from tests.support import pricing_documents, services
from tests.support.pipeline import Pipeline, api_guids, simulator

START = datetime(2026, 9, 1, tzinfo=UTC)
TABLES = ("app_usage_events", "service_usage_events")


def copy_four_columns(source: str, target: str) -> None:
    """COPY the events' four columns from one database into another (foundation: default)."""
    out, into = psycopg2.connect(source), psycopg2.connect(target)
    try:
        for table in TABLES:
            buffer = io.BytesIO()
            with out.cursor() as cursor:
                cursor.copy_expert(
                    f"COPY (SELECT id, guid, created_at, raw_message FROM {table} ORDER BY id)"
                    " TO STDOUT",
                    buffer,
                )
            buffer.seek(0)
            with into, into.cursor() as cursor:
                cursor.copy_expert(
                    f"COPY {table} (id, guid, created_at, raw_message) FROM STDIN", buffer
                )
    finally:
        out.close()
        into.close()


def apply_pricing(url: str) -> None:
    document = pricing_documents.sample()
    document["plans"].append(
        {"resource_type": "task", "name": "task", "valid_from": "2017-01-01",
         "components": [{"name": "compute", "vat": "standard",
                         "formula": "ceil($time_in_seconds / 60) * $memory_in_mb * 0.0001"}]}
    )  # fmt: skip
    content = orjson.dumps(document)
    conn = db.connect(url)
    try:
        pricing_store.apply(conn, content, "sample.json", pricing_file.parse(content))
    finally:
        conn.close()


def answers(url: str, now: datetime) -> list[Any]:
    """Reports in every grouping and bills, over windows inside and across the history."""
    found: list[Any] = []
    conn = db.connect(url)
    try:
        for start, end in (
            (START - timedelta(days=10), START + timedelta(days=70)),
            (START + timedelta(days=20), START + timedelta(days=21)),
            (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)),
        ):
            for group_by in protocol.GroupBy:
                request = protocol.ReportRequest(from_=start, to=end, group_by=group_by)
                report = orjson.loads(protocol.report_body(usage.compute(conn, request, now)))
                found.append(report)
            priced = bill.compute(conn, bill_protocol.BillRequest(from_=start, to=end), now)
            found.append(orjson.loads(bill_assembly.bill_body(priced)))
    finally:
        conn.close()
    return found


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_four_columns_store_what_the_pipeline_stores(
    version: str,
    database_url: str,
    amqp_url: str,
    postgres_admin_url: str,
    template_database: str,
) -> None:
    flags = {"events": 4000, "seed": 11, "start": "2026-09-01T00:00:00Z", "days": 60}
    with simulator(**flags) as sim, Pipeline(sim.url, database_url, amqp_url) as pipe:
        pipe.start_producer(CF_API_VERSION=version)
        pipe.start_consumers(2)
        pipe.wait_stored(api_guids(sim.url))
    with services.cloned_database(postgres_admin_url, template_database) as copied:
        copy_four_columns(database_url, copied)
        apply_pricing(database_url)
        apply_pricing(copied)
        now = datetime(2026, 12, 1, tzinfo=UTC)
        through_pipeline, by_copy = answers(database_url, now), answers(copied, now)
    assert through_pipeline == by_copy
    assert any(report.get("rows") for report in through_pipeline)
    assert any(answer.get("orgs") for answer in through_pipeline)
