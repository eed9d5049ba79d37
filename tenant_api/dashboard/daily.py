"""A month's cost day by day, priced by the bill's own engine from the bill's own segments.

The bill's own segments and tariff (`reporter.bill.compute_with_parts`: what the bill was
just priced from) are cut at midnight (UTC); each day's pieces are priced by
`billing.price_microseconds`, and the costs of the pieces of the resources the bill
attributes to the org are summed per day. A day is therefore what a bill of that day
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

from reporter import bill, bill_assembly, bill_protocol, billing
from reporter import tariff as tariffs
from shared import formula

# A day in microseconds (UTC days: no daylight saving).
DAY_US = 86_400 * 1_000_000


def costs(
    parts: bill.Parts,
    request: bill_protocol.BillRequest,
    now: datetime,
    keep: Collection[bill_assembly.ResourceKey],
) -> list[Decimal]:
    """Each day's cost before VAT, for the days of [from, to) (days after `now`: 0), of the
    bill's segments (`parts`) of the resources in `keep` (those the bill attributes to the
    request's orgs)."""
    low = tariffs.microseconds(request.from_)
    high = tariffs.microseconds(min(request.to, now))
    count = -(-(tariffs.microseconds(request.to) - low) // DAY_US)
    wanted = frozenset(keep)
    alike: Counter[Piece] = Counter()
    # Whole days inside segments, as differences per (kind, plan, instances, memory): a
    # segment of a month adds 2 numbers here, not 29 pieces.
    whole: dict[tuple[str, str | None, int, int], list[int]] = {}
    for kind, foundation, guid, plan, start, end, instances, memory in parts.segments:
        if (kind, foundation, guid, plan) not in wanted:
            continue
        start, end = max(start, low), min(end, high)
        if start >= end:
            continue
        day, last = (start - low) // DAY_US, (end - 1 - low) // DAY_US
        if day == last:  # most segments: within one day
            alike[(day, kind, plan, start, end, instances, memory)] += 1
            continue
        alike[(day, kind, plan, start, low + (day + 1) * DAY_US, instances, memory)] += 1
        alike[(last, kind, plan, low + last * DAY_US, end, instances, memory)] += 1
        if last - day > 1:
            steps = whole.setdefault((kind, plan, instances, memory), [0] * (count + 1))
            steps[day + 1] += 1
            steps[last] -= 1
    for (kind, plan, instances, memory), steps in whole.items():
        running = 0
        for day in range(count):
            running += steps[day]
            if running:
                midnight = low + day * DAY_US
                alike[(day, kind, plan, midnight, midnight + DAY_US, instances, memory)] += running
    return _priced(parts.tariff, low, max(high, low), count, alike)


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
