"""The engine prices pieces proportional to time together (`formula.proportional_to_time`):
the same bill as pricing each piece alone, to the context's 28 digits, for any pricing."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reporter import billing, tariff
from shared import formula, formula_syntax
from tests.support.billing_cases import T0, build
from tests.unit.test_billing_properties import pricings, segments

PROPORTIONAL = [
    "$time_in_seconds * 2",
    "$number_of_nodes * $time_in_seconds * ($memory_in_mb / 1024) * (0.01 / 3600)",
    "-$time_in_seconds * 0.5 + $time_in_seconds",
    "$number_of_nodes * min($memory_in_mb, 1024) * $time_in_seconds / 7",
    "($time_in_seconds + $time_in_seconds * $storage_in_mb) * ceil($memory_in_mb / 3)",
]
NOT_PROPORTIONAL = [
    "ceil($time_in_seconds / 3600) * 0.041",  # hourly rounding: per piece
    "$time_in_seconds + 1",  # a fee per piece
    "$time_in_seconds / $memory_in_mb",  # fails where memory is 0
    "min($time_in_seconds, 60)",
    "$time_in_seconds * $time_in_seconds",
    "0.5",
    "$time_in_seconds / (2 - 2 + 1)",  # a divisor that is no plain number
]


@pytest.mark.parametrize("text", PROPORTIONAL)
def test_formula_proportional_to_time(text: str) -> None:
    assert formula.proportional_to_time(formula_syntax.parse(text))


@pytest.mark.parametrize("text", NOT_PROPORTIONAL)
def test_formula_not_proportional_to_time(text: str) -> None:
    assert not formula.proportional_to_time(formula_syntax.parse(text))


def _one_by_one(laid_out: tariff.Tariff) -> tariff.Tariff:
    """The same tariff with every piece priced alone."""
    for plan in laid_out.plans.values():
        for version in plan.versions:
            for track in version.tracks:
                track.terms[:] = [terms._replace(proportional=False) for terms in track.terms]
    return laid_out._replace(
        plans={
            key: plan._replace(
                versions=[
                    version._replace(
                        tracks=tuple(
                            track._replace(only=track.terms[0] if len(track.terms) == 1 else None)
                            for track in version.tracks
                        )
                    )
                    for version in plan.versions
                ]
            )
            for key, plan in laid_out.plans.items()
        }
    )


FORMULAS = (*PROPORTIONAL, "ceil($time_in_seconds / 3600) * 0.041")


@settings(max_examples=200, deadline=None)
@given(pricings(formulas=FORMULAS), segments(), st.integers(-86400, 86400))
def test_billing_proportional_pieces_priced_together_bill_as_one_by_one(
    pricing: dict[str, object], found: list[billing.Segment], offset: int
) -> None:
    start = datetime.fromtimestamp(T0.timestamp() + offset, T0.tzinfo)
    end = datetime.fromtimestamp(T0.timestamp() + offset + 20 * 86400, T0.tzinfo)
    together = billing.price(build(pricing), start, end, found)
    alone = billing.price(_one_by_one(build(pricing)), start, end, found)
    assert together.unpriced == alone.unpriced
    assert together.lines.keys() == alone.lines.keys()
    for key, line in together.lines.items():
        other = alone.lines[key]
        assert (line.plan_name, line.vat_code) == (other.plan_name, other.vat_code)
        for mine, theirs in ((line.ex_vat, other.ex_vat), (line.vat, other.vat)):
            assert abs(mine - theirs) <= abs(theirs) * Decimal("1e-25") + Decimal("1e-30"), key
