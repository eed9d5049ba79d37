"""Collection gaps are a metric: what an alert fires on when the producer records one."""

from __future__ import annotations

import psycopg2
from prometheus_client import CollectorRegistry

from reporter import database_gauges


def _gaps(registry: CollectorRegistry) -> dict[tuple[str, str], float]:
    return {
        (s.labels["foundation"], s.labels["kind"]): s.value
        for family in registry.collect()
        for s in family.samples
        if s.name == "paas_billing_reporter_collection_gaps"
    }


def test_collection_gaps_are_counted_per_foundation_and_kind(database_url: str) -> None:
    registry = CollectorRegistry()
    registry.register(database_gauges.CollectionGaps(database_url))
    assert _gaps(registry) == {}
    conn = psycopg2.connect(database_url)
    with conn, conn.cursor() as cursor:
        for foundation in ("eu-1", "eu-1", "us-1"):
            cursor.execute(
                "INSERT INTO collection_gaps (foundation, kind, lost_guid, reason)"
                " VALUES (%s, 'app', 'gone', 'pruned')",
                (foundation,),
            )
    conn.close()
    assert _gaps(registry) == {("eu-1", "app"): 2.0, ("us-1", "app"): 1.0}


def test_an_unreachable_database_exports_no_gap_figures() -> None:
    registry = CollectorRegistry()
    registry.register(database_gauges.CollectionGaps("postgres://nobody@127.0.0.1:1/none"))
    assert _gaps(registry) == {}
