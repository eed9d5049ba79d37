"""A month's cost day by day, priced by the bill's own engine from the bill's own segments.

The segments of the bill (`reporter/sql/bills.sql`, the same queries `reporter.bill` runs)
are read once; each day's are priced by `billing.price_microseconds` over that day's window
alone, with the pricing in force, and the lines of the resources the bill names are summed.
A day is therefore what a bill of that day alone would say. Priced per second the days add
up to the month; a formula that rounds each piece up (`ceil($time_in_seconds / 3600)`)
charges a piece crossing midnight on both days, so there the days may add up to a little
more than the month's bill, and the page says so.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from decimal import Decimal

from reporter import bill, bill_assembly, bill_protocol, billing, protocol, usage
from reporter import tariff as tariffs
from shared import db, formula, pricing_store

# A day in microseconds (UTC days: no daylight saving).
DAY_US = 86_400 * 1_000_000


def costs(
    cursor: db.Cursor,
    request: bill_protocol.BillRequest,
    now: datetime,
    keep: Collection[bill_assembly.ResourceKey],
) -> list[Decimal]:
    """Each day's cost before VAT, for the days of [from, to) (days after `now`: 0), of the
    resources in `keep` (the bill's lines' resources)."""
    params = usage.parameters(
        protocol.ReportRequest(
            from_=request.from_,
            to=request.to,
            org_guids=request.org_guids,
            space_guids=request.space_guids,
            foundations=request.foundations,
        ),
        now,
    )
    in_force = pricing_store.load(cursor)
    tariff = tariffs.build(in_force.pricing) if in_force else tariffs.empty()
    low = tariffs.microseconds(request.from_)
    high = tariffs.microseconds(params["upto"])
    count = -(-(tariffs.microseconds(request.to) - low) // DAY_US)
    buckets: list[list[billing.MicrosecondRow]] = [[] for _ in range(count)]
    for name in bill.SEGMENT_QUERIES:
        cursor.execute(bill.QUERIES[name], params)
        for row in cursor.fetchall():
            first = (max(row[4], low) - low) // DAY_US
            last = (min(row[5], high) - 1 - low) // DAY_US
            for day in range(first, min(last, count - 1) + 1):
                buckets[day].append(row)
    context = formula.new_context()
    wanted = frozenset(keep)
    totals: list[Decimal] = []
    for day, rows in enumerate(buckets):
        start = low + day * DAY_US
        end = min(start + DAY_US, high)
        total = Decimal(0)
        if start < end and rows:
            priced = billing.price_microseconds(tariff, start, end, rows)
            for key, line in priced.lines.items():
                if key[:4] in wanted:
                    total = context.add(total, line.ex_vat)
        totals.append(total)
    return totals
