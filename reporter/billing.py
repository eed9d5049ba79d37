"""The bill engine (CONTRACT "What a bill prices"): segments of usage in, priced lines out.

`price(tariff, start, end, segments)` clips each segment to the window [start, end), cuts it
wherever its plan's version changes and, per component, wherever that component's currency or
VAT rate changes (`tariff`), and prices every piece with what is in force at its start:

    $time_in_seconds = the piece's exact length (microseconds included), as a Decimal
    app, task, staging: $number_of_nodes = instances, $memory_in_mb = memory per instance,
                        $storage_in_mb = 0; service: the plan version's three values
    ex_vat = formula x currency rate;  vat = ex_vat x VAT rate;  nothing rounded

It sums the pieces into one line per (resource, service plan, component), named after its
latest piece; lines whose ex_vat is zero are left out. Usage with no plan in force (or whose
formula fails) is priced 0 and reported in `Priced.unpriced` (`bill_warnings` merges them).
Pure: no database, no clock; the caller attaches names, orgs and spaces (`bill_assembly`).

The loop is the hot path of a bill (about 350,000 segments for a busy platform's month): one
bisect per segment for the version, one per component only where rates change inside a
version, compiled formulas, and per-line accumulators updated in place.
"""

from __future__ import annotations

import decimal
from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from reporter import tariff as tariffs
from reporter.tariff import EPOCH, MICROSECOND

# $storage_in_mb of app, task and staging usage.
ZERO = Decimal(0)
# Significant digits of a line's sum of pieces: each piece has 28 (the formula context's), so
# a sum is exact unless its pieces' magnitudes span more than 70 orders (then it is rounded).
SUM_PRECISION = 100
# A priced-0 part's code when no plan is in force, and when a formula fails.
NO_PLAN, FORMULA_FAILED = "no_plan", "formula_failed"


class Segment(NamedTuple):
    """A stretch of one resource's usage, as the report arithmetic counts it."""

    resource_type: str  # app | task | staging | service
    foundation: str
    resource_guid: str
    service_plan_guid: str | None  # services only
    start: datetime  # aware; clipped to the window, the history's beginning and now
    end: datetime  # start < end
    instances: int  # app, task, staging: $number_of_nodes
    memory_in_mb: int  # app, task, staging: $memory_in_mb


class LineKey(NamedTuple):
    """What a bill line is of: a resource (on a service plan) and a component."""

    resource_type: str
    foundation: str
    resource_guid: str
    service_plan_guid: str | None
    component: str


class Line(NamedTuple):
    """A bill line's unrounded amounts, and the plan name and VAT code of its latest piece."""

    ex_vat: Decimal
    vat: Decimal
    plan_name: str
    vat_code: str


class Unpriced(NamedTuple):
    """A part of a resource's usage priced 0; times in microseconds since the epoch."""

    code: str  # NO_PLAN | FORMULA_FAILED
    resource_type: str
    service_plan_guid: str | None
    foundation: str
    resource_guid: str
    start: int
    end: int
    plan_name: str | None = None  # FORMULA_FAILED: the plan version, component and reason
    component: str | None = None
    reason: str | None = None


class Priced(NamedTuple):
    """The engine's result: lines by key, and what was priced 0."""

    lines: dict[LineKey, Line]
    unpriced: list[Unpriced]


def price(
    tariff: tariffs.Tariff, start: datetime, end: datetime, segments: Iterable[Segment]
) -> Priced:
    """Price the segments over the window [start, end)."""
    low, high = tariffs.microseconds(start), tariffs.microseconds(end)
    return _Pricer(tariff, low, high).run(segments, datetimes=True)


def price_microseconds(
    tariff: tariffs.Tariff, start: int, end: int, rows: Iterable[MicrosecondRow]
) -> Priced:
    """`price` for rows whose start and end are already integer microseconds since the epoch
    (`(extract(epoch FROM t) * 1000000)::bigint` in SQL): no datetime built or converted."""
    return _Pricer(tariff, start, end).run(rows, datetimes=False)


# A segment with its start and end in microseconds since the epoch (`price_microseconds`).
MicrosecondRow = tuple[str, str, str, str | None, int, int, int, int]
# The values of formula_syntax.VARIABLES for one piece.
Values = tuple[Decimal | int, ...]


class _Pricer:
    """One bill's pricing: the window, the tariff, and the lines' running sums.

    The sums live in parallel lists indexed through `slots` (line key -> index) rather than a
    small list per line: a bill makes a hundred thousand lines, and every small container is
    one more allocation and one more object for the cyclic garbage collector to walk."""

    def __init__(self, tariff: tariffs.Tariff, low: int, high: int) -> None:
        self.tariff = tariff
        self.low = low
        self.high = high
        self.slots: dict[tuple[Any, ...], int] = {}  # keys made as LineKey, found by tuple
        self.ex_vat: list[Decimal] = []
        self.vat: list[Decimal] = []
        self.latest: list[int] = []  # the start of the line's latest piece
        self.terms: list[tariffs.Terms] = []  # the terms of the line's latest piece
        self.unpriced: list[Unpriced] = []
        # Lines sum their pieces exactly (SUM_PRECISION), so that a bill does not depend on the
        # order in which its segments come.
        self.sums = tariff.context.copy()
        self.sums.prec = SUM_PRECISION
        # Pieces proportional to time, summed per resource, plan, terms and other variables:
        # [microseconds, the latest piece's start, terms] (`price_proportional`).
        self.proportional: dict[tuple[Any, ...], list[Any]] = {}

    def run(self, rows: Iterable[Any], *, datetimes: bool) -> Priced:
        """The hot loop. Locals instead of attributes, tuples unpacked instead of fields
        read one by one, the common piece (a component no rate change cuts) inline."""
        low, high, plans, slots = self.low, self.high, self.tariff.plans, self.slots
        ex_vats, vats, latest, latest_terms = self.ex_vat, self.vat, self.latest, self.terms
        context = self.tariff.context
        add, multiply = self.sums.add, context.multiply
        proportional = self.proportional
        for row in rows:
            resource_type, foundation, guid, service_plan, s, e, instances, memory = row
            if datetimes:
                s = (s - EPOCH) // MICROSECOND
                e = (e - EPOCH) // MICROSECOND
            if s < low:
                s = low
            if e > high:
                e = high
            if s >= e:
                continue
            plan = plans.get((resource_type, service_plan))
            if plan is None:
                self.unpriced.append(_no_plan(row, s, e))
                continue
            starts, versions = plan
            if s < starts[0]:
                self.unpriced.append(_no_plan(row, s, min(e, starts[0])))
                s = starts[0]
                if s >= e:
                    continue
            index, count = bisect_right(starts, s) - 1, len(starts)
            while index < count and starts[index] < e:
                version_start, version_end, _name, tracks, fixed = versions[index]
                index += 1
                ps = s if s > version_start else version_start
                pe = e if e < version_end else version_end
                others = fixed if fixed else (instances, memory, ZERO)
                values = None
                for track in tracks:
                    terms = track.only
                    if terms is None:  # the component's rates change inside this version
                        cuts = track.starts
                        at = bisect_right(cuts, ps) - 1
                        if at + 1 < len(cuts) and cuts[at + 1] < pe:
                            self.cut(row, track, ps, pe, others)
                            continue
                        terms = track.terms[at]  # but not inside this piece
                    if terms[6]:  # proportional to time: priced with its like at the end
                        key = (resource_type, foundation, guid, service_plan, id(terms), others)
                        pending = proportional.get(key)
                        if pending is None:
                            proportional[key] = [pe - ps, ps, terms]
                        else:
                            pending[0] += pe - ps
                            if ps > pending[1]:
                                pending[1] = ps
                        continue
                    if values is None:
                        values = (Decimal(pe - ps).scaleb(-6, context), *others)
                    try:
                        ex_vat = multiply(terms[0](values), terms[1])
                    except decimal.DecimalException as exc:
                        self.unpriced.append(_failed(row, terms, ps, pe, exc))
                        continue
                    slot = slots.get((resource_type, foundation, guid, service_plan, terms[3]))
                    if slot is None:  # a new line: its key made once (equal to the tuple)
                        slots[LineKey(resource_type, foundation, guid, service_plan, terms[3])] = (
                            len(ex_vats)
                        )
                        ex_vats.append(ex_vat)
                        vats.append(multiply(ex_vat, terms[2]))
                        latest.append(ps)
                        latest_terms.append(terms)
                        continue
                    ex_vats[slot] = add(ex_vats[slot], ex_vat)
                    vats[slot] = add(vats[slot], multiply(ex_vat, terms[2]))
                    if ps >= latest[slot]:
                        latest[slot], latest_terms[slot] = ps, terms
        self.price_proportional()
        return Priced(self.lines(), self.unpriced)

    def price_proportional(self) -> None:
        """Price the pieces set aside as proportional to time: per resource, plan, terms and
        other variables, the formula of their summed time, which equals the sum of the
        formula over each (`formula.proportional_to_time`) to the context's 28 digits, at a
        fraction of the cost (a busy platform's month: 425,000 pieces, a few thousand sums)."""
        context = self.tariff.context
        for (
            resource_type,
            foundation,
            guid,
            plan,
            _,
            others,
        ), pending in self.proportional.items():
            total, latest_start, terms = pending
            values = (Decimal(total).scaleb(-6, context), *others)
            ex_vat = context.multiply(terms.function(values), terms.currency_rate)
            self.add((resource_type, foundation, guid, plan), terms, latest_start, ex_vat)
        self.proportional.clear()

    def cut(
        self, row: Any, track: tariffs.Track, start: int, end: int, variables: tuple[Any, ...]
    ) -> None:
        """Price [start, end) of a component whose currency or VAT rate changes inside its
        version: one piece per stretch of the track, each with the terms at its start."""
        context = self.tariff.context
        cuts = track.starts
        at = bisect_right(cuts, start) - 1
        while start < end:
            stop = cuts[at + 1] if at + 1 < len(cuts) and cuts[at + 1] < end else end
            terms = track.terms[at]
            values = (Decimal(stop - start).scaleb(-6, context), *variables)
            try:
                ex_vat = context.multiply(terms.function(values), terms.currency_rate)
            except decimal.DecimalException as exc:
                self.unpriced.append(_failed(row, terms, start, stop, exc))
            else:
                self.add(row, terms, start, ex_vat)
            start, at = stop, at + 1

    def add(self, row: Any, terms: tariffs.Terms, start: int, ex_vat: Decimal) -> None:
        """Add a piece starting at `start` to its line (what `run` does inline)."""
        context = self.tariff.context
        vat = context.multiply(ex_vat, terms.vat_rate)
        key = LineKey(row[0], row[1], row[2], row[3], terms.component)
        slot = self.slots.get(key)
        if slot is None:
            self.slots[key] = len(self.ex_vat)
            self.ex_vat.append(ex_vat)
            self.vat.append(vat)
            self.latest.append(start)
            self.terms.append(terms)
            return
        self.ex_vat[slot] = self.sums.add(self.ex_vat[slot], ex_vat)
        self.vat[slot] = self.sums.add(self.vat[slot], vat)
        if start >= self.latest[slot]:
            self.latest[slot], self.terms[slot] = start, terms

    def lines(self) -> dict[LineKey, Line]:
        """Every line whose ex_vat is not zero, amounts without trailing zeros (`0`, not
        `0E-32`; `0.5`, not `0.50000`): normalising in the sums' own precision loses nothing."""
        ex_vats, vats, latest_terms = self.ex_vat, self.vat, self.terms
        normalize = self.sums.normalize
        lines: dict[Any, Line] = {
            key: Line(
                normalize(ex_vats[slot]),
                normalize(vats[slot]),
                latest_terms[slot].plan_name,
                latest_terms[slot].vat_code,
            )
            for key, slot in self.slots.items()
            if ex_vats[slot]
        }
        return lines


def _no_plan(segment: Any, start: int, end: int) -> Unpriced:
    return Unpriced(
        NO_PLAN,
        segment[0],  # resource_type
        segment[3],  # service_plan_guid
        segment[1],  # foundation
        segment[2],  # resource_guid
        start,
        end,
    )


def _failed(
    segment: Any, terms: tariffs.Terms, start: int, end: int, exc: decimal.DecimalException
) -> Unpriced:
    """A piece whose formula failed (rare: it worked with every variable at 0 and at 1 when
    the file was applied, `1 / ($time_in_seconds - 60)` would not here): priced 0."""
    return Unpriced(
        FORMULA_FAILED,
        segment[0],  # resource_type
        segment[3],  # service_plan_guid
        segment[1],  # foundation
        segment[2],  # resource_guid
        start,
        end,
        terms.plan_name,
        terms.component,
        type(exc).__name__,
    )
