"""The pricing in force laid out for the bill engine (`billing`): timelines in microseconds.

For each plan: its versions' starts (searched with bisect) and, per version, one `Track` per
component: the moments inside the version where that component's currency rate or VAT rate
changes, each with the `Terms` that hold from there (compiled formula, the two rates, the
names a bill line shows). A piece of usage is cut at a version's start and end and at its
component's track starts, and priced with the terms in force at its start.

Times are integer microseconds since the Unix epoch, so cutting and measuring never rounds.
"""

from __future__ import annotations

import decimal
from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from shared import formula, pricing

# The Unix epoch and one microsecond: datetime <-> integer microseconds.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
# Later than any time a bill can cover (year 10000).
FOREVER = (datetime.max.replace(tzinfo=UTC) - EPOCH) // MICROSECOND + 1
# The rate of the billing currency: always 1.
ONE = Decimal(1)


def microseconds(moment: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch."""
    return (moment - EPOCH) // MICROSECOND


def moment(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


class Terms(NamedTuple):
    """How one component is priced over one stretch of time; `proportional`: its formula is
    $time_in_seconds times something of the other variables (`formula.proportional_to_time`)."""

    function: formula.Function
    currency_rate: Decimal
    vat_rate: Decimal
    component: str
    plan_name: str
    vat_code: str
    proportional: bool = False


class Track(NamedTuple):
    """One component of one version: `terms[i]` holds from `starts[i]` (the first is the
    version's start) until the next start or the version's end. `only` is the one terms of a
    track that no rate change cuts (the common case), else None."""

    starts: list[int]
    terms: list[Terms]
    only: Terms | None


class Version(NamedTuple):
    """A plan version: [start, end) and its components; `variables` are a service plan's
    $number_of_nodes, $memory_in_mb, $storage_in_mb (None for app, task and staging)."""

    start: int
    end: int
    name: str
    tracks: tuple[Track, ...]
    variables: tuple[Decimal, Decimal, Decimal] | None


class Plan(NamedTuple):
    """A plan's versions, and their starts in the same order (for bisect)."""

    starts: list[int]
    versions: list[Version]


class Tariff(NamedTuple):
    """Everything the engine needs, built once per pricing (`build`); `empty()` before any
    pricing was applied (currency None, no plan: every segment is priced 0 with a warning)."""

    currency: str | None
    plans: dict[pricing.PlanKey, Plan]
    context: decimal.Context


class _Timeline(NamedTuple):
    starts: list[int]
    rates: list[Decimal]

    def at(self, us: int) -> Decimal:
        index = bisect_right(self.starts, us) - 1
        if index < 0:  # pricing_checks refuses such a file: a rate from each version on
            raise ValueError(f"no rate in force at {moment(us).isoformat()}")
        return self.rates[index]

    def changes(self, start: int, end: int) -> list[int]:
        return [moment for moment in self.starts if start < moment < end]


def empty() -> Tariff:
    """The tariff when no pricing is in force (`pricing_store.load` gave None)."""
    return Tariff(None, {}, formula.new_context())


def build(priced: pricing.Pricing) -> Tariff:
    """Compile every formula once and lay out every plan's timelines."""
    context = formula.new_context()
    currencies = _timelines(priced.currency_rates)
    currencies[priced.currency] = _Timeline([-FOREVER], [ONE])
    vats = _timelines(priced.vat_rates)
    compiled: dict[str, formula.Formula] = {}
    plans: dict[pricing.PlanKey, Plan] = {}
    for key, versions in priced.versions().items():
        laid_out: list[Version] = []
        for index, version in enumerate(versions):
            start = microseconds(version.valid_from)
            end = (
                microseconds(versions[index + 1].valid_from)
                if index + 1 < len(versions)
                else FOREVER
            )
            tracks = []
            for component in version.components:
                if component.formula not in compiled:
                    compiled[component.formula] = formula.compile(component.formula, context)
                currency, vat = currencies[component.currency], vats[component.vat]
                starts = sorted({start, *currency.changes(start, end), *vat.changes(start, end)})
                terms = [
                    Terms(
                        compiled[component.formula].function,
                        currency.at(moment),
                        vat.at(moment),
                        component.name,
                        version.name,
                        component.vat,
                        compiled[component.formula].proportional,
                    )
                    for moment in starts
                ]
                tracks.append(Track(starts, terms, terms[0] if len(terms) == 1 else None))
            laid_out.append(Version(start, end, version.name, tuple(tracks), _variables(version)))
        plans[key] = Plan([v.start for v in laid_out], laid_out)
    return Tariff(priced.currency, plans, context)


def _timelines(rates: tuple[pricing.Rate, ...]) -> dict[str, _Timeline]:
    """Per code, its rates in valid_from order (`rates` is sorted by code, valid_from)."""
    found: dict[str, _Timeline] = {}
    for rate in rates:
        timeline = found.setdefault(rate.code, _Timeline([], []))
        timeline.starts.append(microseconds(rate.valid_from))
        timeline.rates.append(rate.rate)
    return found


def _variables(version: pricing.PlanVersion) -> tuple[Decimal, Decimal, Decimal] | None:
    if version.resource_type is not pricing.ResourceType.SERVICE:
        return None
    return (version.number_of_nodes, version.memory_in_mb, version.storage_in_mb)
