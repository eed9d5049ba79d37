"""Gauges read from the database when Prometheus scrapes: the recorded collection gaps.

Any reporter may export them (they are facts of the database, not of the process): alert
on `max` across reporters. A scrape while the database is down exports none of them (the
readiness check and the `database` errors tell that story).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shared import db, errors

# Seconds a scrape's query may take.
SCRAPE_TIMEOUT_MS = 5000
_QUERIES = db.load_queries("reporter.sql", "metrics.sql")


class CollectionGaps(Collector):
    """`paas_billing_reporter_collection_gaps{foundation,kind}` and the latest detection."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url

    def collect(self) -> Iterator[GaugeMetricFamily]:
        count = GaugeMetricFamily(
            "paas_billing_reporter_collection_gaps",
            "Collection gaps recorded (periods whose events may be missing), per source.",
            labels=["foundation", "kind"],
        )
        latest = GaugeMetricFamily(
            "paas_billing_reporter_collection_gap_detected_timestamp_seconds",
            "Unix time the latest collection gap of a source was detected.",
            labels=["foundation", "kind"],
        )
        try:
            rows = self._rows()
        except errors.BillingError:
            return
        for foundation, kind, number, detected in rows:
            count.add_metric([foundation, kind], float(number))
            latest.add_metric([foundation, kind], float(detected))
        yield count
        yield latest

    def _rows(self) -> list[tuple[str, str, int, float]]:
        conn = db.connect(self._url, application_name="paas-billing-reporter-metrics")
        try:
            with db.transaction(conn) as cursor:
                cursor.execute(_QUERIES["set_timeout"], {"ms": SCRAPE_TIMEOUT_MS})
                cursor.execute(_QUERIES["collection_gaps_by_source"])
                return list(cursor.fetchall())
        finally:
            db.close_quietly(conn)
