"""The dashboard's days: the bill's segments priced day by day by the bill's engine add up
to the bill when prices are per second, and exceed it only where a price rounds a piece up."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from prometheus_client import CollectorRegistry

from reporter import bill
from shared import db, pricing_file, pricing_store
from tenant_api.dashboard import figures
from tenant_api.dashboard.months import Month
from tenant_api.metrics import ApiMetrics
from tenant_api.reports import Reports
from tests.support import dashboard, event_rows, pricing_documents

OCTOBER = Month(2026, 10)
NOW = datetime(2027, 1, 1, tzinfo=UTC)
METRICS = ApiMetrics(CollectorRegistry())


def apply(conn: db.Connection, document: dict[str, Any]) -> None:
    content = orjson.dumps(document)
    pricing_store.apply(conn, content, "p.json", pricing_file.parse(content))


def days_and_bill(conn: db.Connection, org: str) -> tuple[list[Decimal], Decimal]:
    """The days as the dashboard computes them, and the sum of the bill's lines."""
    found = figures.Figures(Reports(OneConnection(conn), 60_000, METRICS), 60_000).org_month(
        org, OCTOBER, NOW
    )
    lines = sum((line["ex_vat"] for o in found.bill["orgs"] for line in o["lines"]), Decimal(0))
    assert found.bill == bill.compute(conn, figures.bill_request(OCTOBER, org), NOW)
    return found.daily, lines


class OneConnection:
    """A pool of the test's one connection."""

    def __init__(self, conn: db.Connection) -> None:
        self._conn = conn

    @contextmanager
    def connection(self) -> Iterator[db.Connection]:
        yield self._conn


def test_daily_per_second_prices_add_up_to_the_bills_lines(
    database_url: str, conn: db.Connection
) -> None:
    event_rows.insert(database_url, dashboard.history())
    per_second = copy.deepcopy(pricing_documents.sample())
    per_second["plans"][1]["components"][0]["formula"] = "$time_in_seconds * 0.041 / 3600"
    task = copy.deepcopy(per_second["plans"][0])
    task.update(resource_type="task", name="task")
    per_second["plans"].append(task)
    apply(conn, per_second)
    days, lines = days_and_bill(conn, dashboard.ORG_A)
    assert len(days) == 31 and days[0] > 0
    assert abs(sum(days, Decimal(0)) - lines) < Decimal("1e-15")
    assert days[4] < days[5]  # the task ran on 6 October: it costs that day only


def test_daily_a_price_per_started_hour_counts_an_hour_across_midnight_twice(
    database_url: str, conn: db.Connection
) -> None:
    history = event_rows.History()
    for state, at in (
        ("CREATED", datetime(2026, 10, 3, 23, 30, tzinfo=UTC)),
        ("DELETED", datetime(2026, 10, 4, 0, 30, tzinfo=UTC)),
    ):
        history.service(at, state, "db".ljust(36, "0"), org_guid=dashboard.ORG_A,
                        service_plan_guid=pricing_documents.SERVICE_PLAN)  # fmt: skip
    history.app(datetime(2026, 9, 1, tzinfo=UTC), "STARTED", process_guid="p".ljust(36, "0"),
                org_guid=dashboard.ORG_A, space_guid="s")  # fmt: skip
    event_rows.insert(database_url, history)
    apply(conn, pricing_documents.sample())
    days, lines = days_and_bill(conn, dashboard.ORG_A)
    hour = Decimal("0.041") * Decimal("0.8")
    app_day = days[0]  # 1 October: the app alone, all day
    assert days[2] - app_day == hour and days[3] - app_day == hour  # an hour on each day
    # the month's bill charged one hour (28 significant digits: equal to the last one or two)
    assert abs(sum(days, Decimal(0)) - lines - hour) < Decimal("1e-20")
