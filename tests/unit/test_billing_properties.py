"""Properties of the bill engine over random segments and pricings (hypothesis).

The random pricings have plan versions and currency and VAT rate changes at random moments
around the window, so that segments are cut in many places. Their formulas are linear in
$time_in_seconds and free of division, so the decimal arithmetic is exact and the properties
can be checked with equality, not a tolerance.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reporter import bill_assembly, bill_protocol, billing, tariff
from tests.support.billing_cases import (
    PRICED_PLAN,
    T0,
    UNPRICED_PLAN,
    build,
    component,
    document,
    plan,
    rfc3339,
)

# How far around T0 the random moments fall, in seconds.
SPAN = 10 * 86400
LINEAR = (
    "$time_in_seconds * $number_of_nodes * $memory_in_mb * 0.000001",
    "$time_in_seconds * 0.0025 + $time_in_seconds * $storage_in_mb * 0.00001",
    "-$time_in_seconds * 0.5 + $time_in_seconds",
)

moments = st.integers(-SPAN, SPAN).map(lambda s: T0 + timedelta(seconds=s))
fine_moments = st.integers(-SPAN * 10**6, SPAN * 10**6).map(
    lambda us: T0 + timedelta(microseconds=us)
)
rates = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(3), places=2)
vat_rates = st.decimals(min_value=Decimal(0), max_value=Decimal("0.5"), places=2)


def _rates(
    code: str, changes: list[tuple[datetime, Decimal]], first: Decimal
) -> list[dict[str, str]]:
    entries = {"2017-01-01T00:00:00Z": str(first)}
    entries.update({rfc3339(moment): str(rate) for moment, rate in changes})
    return [{"code": code, "valid_from": k, "rate": v} for k, v in entries.items()]


@st.composite
def pricings(draw: st.DrawFn, formulas: tuple[str, ...] = LINEAR) -> dict[str, Any]:
    """A pricing with 1-3 versions per plan, first versions possibly after some usage."""
    plans = []
    for kind, guid in (("app", None), ("task", None), ("service", PRICED_PLAN)):
        starts = draw(st.lists(moments, min_size=1, max_size=3, unique=True))
        for n, start in enumerate(sorted(starts)):
            components = [
                component(draw(st.sampled_from(formulas)), "compute", "USD"),
                component(draw(st.sampled_from(formulas)), "extra", "GBP", "reduced"),
            ]
            extra: dict[str, Any] = (
                {"service_plan_guid": guid, "storage_in_mb": "2"} if guid else {}
            )
            plans.append(
                plan(
                    kind,
                    *components[: draw(st.integers(1, 2))],
                    valid_from=rfc3339(start),
                    name=f"{kind} {n}",
                    **extra,
                )
            )
    usd = draw(st.lists(st.tuples(moments, rates), max_size=5))
    vats = draw(st.lists(st.tuples(moments, vat_rates), max_size=5))
    return document(
        *plans,
        currency_rates=_rates("USD", usd, draw(rates)),
        vat_rates=[
            *_rates("standard", vats, Decimal("0.2")),
            *_rates("reduced", [], Decimal("0.05")),
        ],
    )


@st.composite
def segments(draw: st.DrawFn) -> list[billing.Segment]:
    found = []
    for _ in range(draw(st.integers(0, 8))):
        start = draw(fine_moments)
        length = draw(st.integers(1, 6 * 86400 * 10**6))
        kind = draw(st.sampled_from(["app", "task", "staging", "service"]))
        plan_guid = (
            draw(st.sampled_from([PRICED_PLAN, UNPRICED_PLAN])) if kind == "service" else None
        )
        found.append(
            billing.Segment(
                kind,
                draw(st.sampled_from(["f1", "f2"])),
                f"{kind}-{draw(st.integers(0, 2))}",
                plan_guid,
                start,
                start + timedelta(microseconds=length),
                draw(st.integers(0, 4)),
                draw(st.sampled_from([0, 64, 1024])),
            )
        )
    return found


def _amounts(priced: billing.Priced) -> dict[billing.LineKey, tuple[Decimal, Decimal]]:
    return {key: (line.ex_vat, line.vat) for key, line in priced.lines.items()}


def _added(*parts: billing.Priced) -> dict[billing.LineKey, tuple[Decimal, Decimal]]:
    sums: dict[billing.LineKey, tuple[Decimal, Decimal]] = {}
    for part in parts:
        for key, (ex_vat, vat) in _amounts(part).items():
            before = sums.get(key, (Decimal(0), Decimal(0)))
            sums[key] = (before[0] + ex_vat, before[1] + vat)
    return {key: value for key, value in sums.items() if value[0] != 0}


def _changes(pricing: dict[str, Any]) -> list[datetime]:
    """Every moment at which the pricing changes something (versions, rates)."""
    entries = [*pricing["plans"], *pricing["currency_rates"], *pricing["vat_rates"]]
    return sorted(
        {datetime.fromisoformat(e["valid_from"]) for e in entries if "T" in e["valid_from"]}
    )


@settings(max_examples=200, deadline=None)
@given(pricings(), segments(), moments, st.integers(2, 2 * SPAN), st.data())
def test_billing_property_a_window_bills_as_its_two_halves(
    pricing: dict[str, Any], found: list[billing.Segment], a: datetime, ac: int, data: st.DataObject
) -> None:
    """Split anywhere, and often exactly where a version or a rate changes."""
    laid_out = build(pricing)
    c = a + timedelta(seconds=ac)
    inside = [moment for moment in _changes(pricing) if a < moment < c]
    use_a_change: bool = data.draw(st.booleans())
    if inside and use_a_change:
        b: datetime = data.draw(st.sampled_from(inside))
    else:
        b = a + timedelta(seconds=data.draw(st.integers(1, ac - 1)))
    whole = billing.price(laid_out, a, c, found)
    halves = billing.price(laid_out, a, b, found), billing.price(laid_out, b, c, found)
    assert _amounts(whole) == _added(*halves)


@settings(max_examples=150, deadline=None)
@given(pricings(), segments(), moments, moments, st.data())
def test_billing_property_a_price_change_after_the_window_changes_nothing(
    pricing: dict[str, Any],
    found: list[billing.Segment],
    a: datetime,
    b: datetime,
    data: st.DataObject,
) -> None:
    start, end = min(a, b), max(a, b) + timedelta(seconds=1)
    # Half a second past a whole second: never the moment of an existing version or rate.
    later = rfc3339(end + timedelta(seconds=data.draw(st.integers(0, SPAN)), milliseconds=500))
    changed = {**pricing, "plans": list(pricing["plans"])}
    changed["plans"] += [
        plan("app", component("$time_in_seconds * 99"), valid_from=later, name="later"),
        plan("service", component("7"), valid_from=later, service_plan_guid=UNPRICED_PLAN),
    ]
    changed["currency_rates"] = [
        *pricing["currency_rates"],
        {"code": "USD", "valid_from": later, "rate": "5"},
    ]
    if later not in {r["valid_from"] for r in pricing["vat_rates"] if r["code"] == "standard"}:
        changed["vat_rates"] = [
            *pricing["vat_rates"],
            {"code": "standard", "valid_from": later, "rate": "0.4"},
        ]
    before = billing.price(build(pricing), start, end, found)
    after = billing.price(build(changed), start, end, found)
    assert _amounts(after) == _amounts(before)
    assert after.unpriced == before.unpriced


def _as_of(rates: list[dict[str, str]], code: str, moment: datetime) -> list[dict[str, str]]:
    """The code's rates with everything before `moment` replaced by the rate then in force."""
    mine = sorted((datetime.fromisoformat(r["valid_from"]), r) for r in rates if r["code"] == code)
    then = [r for valid_from, r in mine if valid_from <= moment][-1]
    later = [r for valid_from, r in mine if valid_from > moment]
    others = [r for r in rates if r["code"] != code]
    return [*others, {**then, "valid_from": "2017-01-01T00:00:00Z"}, *later]


@settings(max_examples=150, deadline=None)
@given(pricings(), segments(), moments, st.integers(1, SPAN))
def test_billing_property_rates_count_only_from_where_they_hold(
    pricing: dict[str, Any], found: list[billing.Segment], a: datetime, length: int
) -> None:
    """Rate changes before the window matter only through the rate in force at its start."""
    c = a + timedelta(seconds=length)
    collapsed = {
        **pricing,
        "currency_rates": _as_of(pricing["currency_rates"], "USD", a),
        "vat_rates": _as_of(pricing["vat_rates"], "standard", a),
    }
    before = billing.price(build(pricing), a, c, found)
    assert _amounts(billing.price(build(collapsed), a, c, found)) == _amounts(before)


@settings(max_examples=150, deadline=None)
@given(pricings(formulas=("$time_in_seconds",)), segments(), moments, moments)
def test_billing_property_pieces_cover_each_segment_exactly(
    pricing: dict[str, Any], found: list[billing.Segment], a: datetime, b: datetime
) -> None:
    """With every rate 1 and VAT 0 and the formula $time_in_seconds, a resource's line is the
    seconds it was priced: with the seconds priced 0, exactly its clipped usage."""
    for rate in (*pricing["currency_rates"], *pricing["vat_rates"]):
        rate["rate"] = "1" if rate in pricing["currency_rates"] else "0"
    start, end = min(a, b), max(a, b) + timedelta(seconds=1)
    priced = billing.price(build(pricing), start, end, found)
    expected: dict[tuple[Any, ...], int] = defaultdict(int)
    for s in found:
        expected[s[:4]] += max(
            0, tariff.microseconds(min(s.end, end)) - tariff.microseconds(max(s.start, start))
        )
    covered: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
    for key, line in priced.lines.items():
        if key.component == "compute":
            covered[key[:4]] += line.ex_vat * 10**6
    for part in priced.unpriced:
        resource = (part.resource_type, part.foundation, part.resource_guid, part.service_plan_guid)
        covered[resource] += part.end - part.start
    assert {k: v for k, v in covered.items() if v} == {k: v for k, v in expected.items() if v}


@settings(max_examples=100, deadline=None)
@given(
    pricings(),
    segments(),
    st.lists(st.sampled_from(["org-a", "org-b", None]), min_size=30, max_size=30),
)
def test_billing_property_every_bill_adds_up(
    pricing: dict[str, Any], found: list[billing.Segment], orgs: list[str | None]
) -> None:
    end = T0 + timedelta(days=3)
    priced = billing.price(build(pricing), T0, end, found)
    who = {
        key[:4]: bill_assembly.Attribution(orgs[n % 30], None, None)
        for n, key in enumerate(priced.lines)
    }
    body = bill_assembly.assemble(
        bill_assembly.attribute(priced, who, bill_assembly.Filters()),
        start=T0,
        end=end,
        generated_at=end,
        currency="GBP",
    )
    bill = bill_protocol.BillReply.model_validate_json(bill_assembly.reply_body(body)).bill
    cent = Decimal("0.01")
    for org in bill.orgs:
        ex_vat = sum((line.ex_vat for line in org.lines), Decimal(0))
        vat = sum((line.vat for line in org.lines), Decimal(0))
        assert org.ex_vat == ex_vat.quantize(cent, ROUND_HALF_UP)
        assert org.vat == vat.quantize(cent, ROUND_HALF_UP)
        assert org.inc_vat == org.ex_vat + org.vat
        assert org.lines
    assert bill.totals.ex_vat == sum(org.ex_vat for org in bill.orgs)
    assert bill.totals.vat == sum(org.vat for org in bill.orgs)
    assert bill.totals.inc_vat == bill.totals.ex_vat + bill.totals.vat
    assert sum(len(org.lines) for org in bill.orgs) == len(priced.lines)


@given(pricings(), moments)
def test_billing_property_no_segments_no_lines(pricing: dict[str, Any], a: datetime) -> None:
    assert billing.price(build(pricing), a, a + timedelta(days=31), []) == billing.Priced({}, [])
