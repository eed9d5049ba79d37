"""A month's cost day by day, priced by the bill's own engine from the bill's own segments.

The segments of the bill (`reporter/sql/bills.sql`, the same queries `reporter.bill` runs)
are read once and cut at midnight (UTC); each day's pieces are priced by
`billing.price_microseconds`, with the pricing in force, and the costs of the pieces of the
resources the bill names are summed per day. A day is therefore what a bill of that day
alone would say. Priced per second the days add up to the month; a formula that rounds each
piece up (`ceil($time_in_seconds / 3600)`) charges a piece crossing midnight on both days, so
there the days may add up to a little more than the month's bill, and the page says so.

Pieces that are alike (same kind, plan, day, start, end, instances and memory: a thousand
service instances that existed all day on one plan) cost the same: each is priced once and
its cost counted as many times as it occurs, which is the sum the engine would make.
"""

from __future__ import annotations

from collections import Counter
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
    resources in `keep` (those the bill attributes to the request's orgs)."""
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
    wanted = frozenset(keep)
    alike: Counter[Piece] = Counter()
    for name in bill.SEGMENT_QUERIES:
        cursor.execute(bill.QUERIES[name], params)
        for kind, foundation, guid, plan, start, end, instances, memory in cursor.fetchall():
            if (kind, foundation, guid, plan) not in wanted:
                continue
            start, end = max(start, low), min(end, high)
            day, last = (start - low) // DAY_US, (end - 1 - low) // DAY_US
            if day == last:  # most segments: within one day
                alike[(day, kind, plan, start, end, instances, memory)] += 1
                continue
            for each in range(day, last + 1):
                midnight = low + each * DAY_US
                piece_start = max(start, midnight)
                piece_end = min(end, midnight + DAY_US)
                alike[(each, kind, plan, piece_start, piece_end, instances, memory)] += 1
    return _priced(tariff, low, max(high, low), count, alike)


# A day's piece of a segment: day, kind, service plan, start, end, instances, memory.
Piece = tuple[int, str, str | None, int, int, int, int]


def _priced(
    tariff: tariffs.Tariff, low: int, high: int, count: int, alike: Counter[Piece]
) -> list[Decimal]:
    """Each day's cost: every distinct piece priced once, times how often it occurs. The
    engine sums the pieces of one day that occur equally often into one line (named by the
    day and that number), so a day's cost is the sum of its lines, each times its number."""
    rows = [
        (kind, "", f"{day} {times}", plan, start, end, instances, memory)
        for (day, kind, plan, start, end, instances, memory), times in alike.items()
    ]
    priced = billing.price_microseconds(tariff, low, high, rows)
    context = formula.new_context()
    totals = [Decimal(0)] * count
    for key, line in priced.lines.items():
        day, times = map(int, key.resource_guid.split())
        cost = line.ex_vat if times == 1 else context.multiply(line.ex_vat, Decimal(times))
        totals[day] = context.add(totals[day], cost)
    return totals
