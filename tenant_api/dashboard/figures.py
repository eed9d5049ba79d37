"""What a dashboard page shows, computed by the reporters' own code over the API's pool.

An org's month: the bill exactly as `GET /v1/bills` computes it (`reporter.bill.compute`,
here `compute_with_parts`: a closed month from what was stored), and from what the bill
was computed, in the same snapshot, the usage report's rows (`reporter.usage.build_rows`
over the rows the bill read, the usage report's own code) and the cost per day (`daily`).
The ranking of every org: the month's bill of every org. Nothing here adds money up a
second way.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    rows: tuple[protocol.Row, ...]  # the usage report's, one per resource
    daily: list[Decimal]  # cost before VAT of each day of the month


def bill_request(month: Month, org_guid: str | None = None) -> bill_protocol.BillRequest:
    """The request `GET /v1/bills?from=<month start>&to=<next month start>[&org_guid=]` makes."""
    orgs = (org_guid,) if org_guid is not None else None
    return bill_protocol.BillRequest(from_=month.start, to=month.end, org_guids=orgs)


class Figures:
    def __init__(self, reports: Reports, statement_timeout_ms: int) -> None:
        self._reports = reports
        self._timeout_ms = statement_timeout_ms

    def org_month(self, org_guid: str, month: Month, now: datetime) -> OrgMonth:
        """The bill, and from what it was computed (in the same snapshot, by the same code)
        the usage report's rows of the org and the cost of each day."""
        request = bill_request(month, org_guid)
        report_request = protocol.ReportRequest(
            from_=month.start, to=month.end, org_guids=(org_guid,)
        )

        def compute(conn: db.Connection) -> OrgMonth:
            body, parts = bill.compute_with_parts(
                conn, request, now, statement_timeout_ms=self._timeout_ms
            )
            rows = usage.build_rows(parts.rows, report_request)
            days = daily.costs(parts, request, now, resource_keys(rows))
            return OrgMonth(org_guid, month, now, body, tuple(rows), days)

        return self._reports.run(compute)

    def every_org(self, month: Month, now: datetime) -> bill_assembly.BillBody:
        """The month's bill of every org (what `GET /v1/bills` answers an admin)."""
        request = bill_request(month)
        return self._reports.run(
            lambda conn: bill.compute(conn, request, now, statement_timeout_ms=self._timeout_ms)
        )


def resource_keys(rows: Iterable[protocol.Row]) -> set[bill_assembly.ResourceKey]:
    """The resources of a usage report's rows per resource (the rows a bill attributes its
    lines with)."""
    return {
        (row.resource_type, row.foundation, row.resource_guid,
         row.service_plan_guid if isinstance(row, protocol.ServiceRow) else None)
        for row in rows
        if isinstance(row, protocol.AppRow | protocol.ServiceRow)
    }  # fmt: skip
