"""What a dashboard page shows, computed by the reporters' own code over the API's pool.

An org's month: the bill exactly as `GET /v1/bills` computes it (`reporter.bill.compute`:
a closed month from what was stored), the usage report per resource (`reporter.usage
.compute`) and the cost per day (`daily`). The ranking of every org: the month's bill of
every org. Nothing here adds money up a second way.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from reporter import bill, bill_assembly, bill_protocol, protocol, usage
from shared import db
from tenant_api import pool
from tenant_api.dashboard import daily
from tenant_api.dashboard.months import Month
from tenant_api.reports import Reports

# Threads that compute the usage and the days of an org's month beside its bill.
SIDE_THREADS = 4


@dataclass(frozen=True)
class OrgMonth:
    """An org's month as of `now`."""

    org_guid: str
    month: Month
    now: datetime
    bill: bill_assembly.BillBody  # the bill object, amounts still Decimals
    usage: protocol.Report  # one row per resource
    daily: list[Decimal]  # cost before VAT of each day of the month


def bill_request(month: Month, org_guid: str | None = None) -> bill_protocol.BillRequest:
    """The request `GET /v1/bills?from=<month start>&to=<next month start>[&org_guid=]` makes."""
    orgs = (org_guid,) if org_guid is not None else None
    return bill_protocol.BillRequest(from_=month.start, to=month.end, org_guids=orgs)


class Figures:
    """The pages' figures. An org's month takes two pooled connections when two are free: the
    bill on one, the usage report and the days on the other, at the same time (their
    queries and Python overlap); with one free, they run one after the other."""

    def __init__(self, reports: Reports, statement_timeout_ms: int) -> None:
        self._reports = reports
        self._timeout_ms = statement_timeout_ms
        self._side = ThreadPoolExecutor(SIDE_THREADS, thread_name_prefix="dashboard")

    def org_month(self, org_guid: str, month: Month, now: datetime) -> OrgMonth:
        request = bill_request(month, org_guid)
        side = self._side.submit(self._reports.run, self._usage_and_days(request, now), wait=0)
        body = self._reports.run(
            lambda conn: bill.compute(conn, request, now, statement_timeout_ms=self._timeout_ms)
        )
        try:
            report, days = side.result()
        except pool.Busy:  # no second connection was free: this one, now
            report, days = self._reports.run(self._usage_and_days(request, now))
        return OrgMonth(org_guid, month, now, body, report, days)

    def every_org(self, month: Month, now: datetime) -> bill_assembly.BillBody:
        """The month's bill of every org (what `GET /v1/bills` answers an admin)."""
        request = bill_request(month)
        return self._reports.run(
            lambda conn: bill.compute(conn, request, now, statement_timeout_ms=self._timeout_ms)
        )

    def close(self) -> None:
        self._side.shutdown(wait=True)

    def _usage_and_days(
        self, request: bill_protocol.BillRequest, now: datetime
    ) -> Callable[[db.Connection], tuple[protocol.Report, list[Decimal]]]:
        """The usage report per resource, then the days of the resources it names (those
        the bill names: the same rows attribute the bill's lines)."""
        report_request = protocol.ReportRequest(
            from_=request.from_, to=request.to, org_guids=request.org_guids
        )
        begin = {"statement_timeout_ms": str(self._timeout_ms), "work_mem": "64MB"}

        def compute(conn: db.Connection) -> tuple[protocol.Report, list[Decimal]]:
            report = usage.compute(conn, report_request, now, statement_timeout_ms=self._timeout_ms)
            with db.transaction(conn) as cursor:
                cursor.execute(usage.QUERIES["begin_report"], begin)
                days = daily.costs(cursor, request, now, resource_keys(report))
            return report, days

        return compute


def resource_keys(report: protocol.Report) -> set[bill_assembly.ResourceKey]:
    """The resources of a usage report per resource (the rows a bill attributes its lines
    with)."""
    return {
        (row.resource_type, row.foundation, row.resource_guid,
         row.service_plan_guid if isinstance(row, protocol.ServiceRow) else None)
        for row in report.rows
        if isinstance(row, protocol.AppRow | protocol.ServiceRow)
    }  # fmt: skip
