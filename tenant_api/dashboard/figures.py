"""What a dashboard page shows, computed by the reporters' own code over the API's pool.

An org's month: the bill exactly as `GET /v1/bills` computes it (`reporter.bill.compute`:
a closed month from what was stored), the usage report per resource (`reporter.usage
.compute`) and the cost per day (`daily`). The ranking of every org: the month's bill of
every org. Nothing here adds money up a second way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from reporter import bill, bill_assembly, bill_protocol, protocol, usage
from shared import db
from tenant_api.dashboard import daily
from tenant_api.dashboard.months import Month
from tenant_api.reports import Reports


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


def resource_keys(body: bill_assembly.BillBody) -> set[bill_assembly.ResourceKey]:
    """The resources a bill has lines for."""
    return {
        (line["resource_type"], line["foundation"], line["resource_guid"],
         line["service_plan_guid"])
        for org in body["orgs"]
        for line in org["lines"]
    }  # fmt: skip


class Figures:
    def __init__(self, reports: Reports, statement_timeout_ms: int) -> None:
        self._reports = reports
        self._timeout_ms = statement_timeout_ms

    def org_month(self, org_guid: str, month: Month, now: datetime) -> OrgMonth:
        request = bill_request(month, org_guid)
        report_request = protocol.ReportRequest(
            from_=month.start, to=month.end, org_guids=(org_guid,)
        )
        begin = {"statement_timeout_ms": str(self._timeout_ms), "work_mem": "64MB"}

        def compute(conn: db.Connection) -> OrgMonth:
            body = bill.compute(conn, request, now, statement_timeout_ms=self._timeout_ms)
            report = usage.compute(conn, report_request, now, statement_timeout_ms=self._timeout_ms)
            with db.transaction(conn) as cursor:
                cursor.execute(usage.QUERIES["begin_report"], begin)
                days = daily.costs(cursor, request, now, resource_keys(body))
            return OrgMonth(org_guid, month, now, body, report, days)

        return self._reports.run(compute)

    def every_org(self, month: Month, now: datetime) -> bill_assembly.BillBody:
        """The month's bill of every org (what `GET /v1/bills` answers an admin)."""
        request = bill_request(month)
        return self._reports.run(
            lambda conn: bill.compute(conn, request, now, statement_timeout_ms=self._timeout_ms)
        )
