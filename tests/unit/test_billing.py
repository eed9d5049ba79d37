"""The bill engine on worked examples: pieces, rates, variables, missing plans, failures."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest

from reporter import billing, tariff
from tests.support.billing_cases import (
    PRICED_PLAN,
    UNPRICED_PLAN,
    at,
    build,
    component,
    document,
    plan,
    rfc3339,
    segment,
)

APP_FORMULA = "$number_of_nodes * $time_in_seconds * ($memory_in_mb / 1024) * (0.01 / 3600)"
HOURLY = "ceil($time_in_seconds / 3600)"


def bill(
    pricing: dict[str, object], *segments: billing.Segment, hours: float = 24
) -> billing.Priced:
    return billing.price(build(pricing), at(0), at(hours=hours), segments)


def line(priced: billing.Priced, component: str = "compute", guid: str = "app-1") -> billing.Line:
    [found] = [v for k, v in priced.lines.items() if k.component == component and k[2] == guid]
    return found


def test_billing_prices_the_contract_app_example_exactly() -> None:
    pricing = document(plan("app", component(APP_FORMULA, currency="USD")))
    priced = bill(pricing, segment(at(0), at(3600.5), instances=2, memory=512))
    with decimal.localcontext(decimal.Context(prec=28)):
        formula = 2 * Decimal("3600.5") * (Decimal(512) / 1024) * (Decimal("0.01") / 3600)
        ex_vat = formula * Decimal("0.8")
        vat = ex_vat * Decimal("0.2")
    key = billing.LineKey("app", "default", "app-1", None, "compute")
    assert priced.lines == {key: billing.Line(ex_vat, vat, "app", "standard")}
    assert priced.unpriced == []


def test_billing_time_in_seconds_keeps_microseconds() -> None:
    pricing = document(plan("task", component("$time_in_seconds")))
    priced = bill(pricing, segment(at(0), at(1, microseconds=1), kind="task", guid="t"))
    assert line(priced, guid="t").ex_vat == Decimal("1.000001")


def test_billing_cuts_at_a_plan_version_change_and_names_the_latest_piece() -> None:
    pricing = document(
        plan("app", component(HOURLY)),
        plan("app", component(f"{HOURLY} * 2"), valid_from=rfc3339(at(1800)), name="app v2"),
    )
    priced = bill(pricing, segment(at(0), at(5400)))
    # 30 minutes on v1 (ceil -> 1), then 60 minutes on v2 (ceil -> 1, x 2)
    assert line(priced) == billing.Line(Decimal(3), Decimal("0.6"), "app v2", "standard")


def test_billing_cuts_a_component_only_at_its_own_rate_changes() -> None:
    pricing = document(
        plan("app", component(HOURLY, "usd", currency="USD"), component(HOURLY, "gbp")),
        currency_rates=[
            {"code": "USD", "valid_from": "2017-01-01", "rate": "0.8"},
            {"code": "USD", "valid_from": rfc3339(at(1800)), "rate": "0.9"},
        ],
    )
    priced = bill(pricing, segment(at(0), at(3600)))
    assert line(priced, "usd").ex_vat == Decimal("1.7")  # two pieces: 1 x 0.8 + 1 x 0.9
    assert line(priced, "gbp").ex_vat == Decimal(1)  # one piece: the GBP rate never changes


def test_billing_cuts_at_a_vat_rate_change() -> None:
    pricing = document(
        plan("app", component("$time_in_seconds * 0.001")),
        vat_rates=[
            {"code": "standard", "valid_from": "2017-01-01", "rate": "0.2"},
            {"code": "standard", "valid_from": rfc3339(at(1800)), "rate": "0.25"},
        ],
    )
    priced = bill(pricing, segment(at(0), at(3600)))
    assert line(priced) == billing.Line(Decimal("3.6"), Decimal("0.81"), "app", "standard")


def test_billing_a_service_takes_its_plan_versions_variables() -> None:
    formula = "$storage_in_mb * $number_of_nodes + $memory_in_mb + $time_in_seconds * 0"
    pricing = document(
        plan(
            "service",
            component(formula, "instance"),
            service_plan_guid=PRICED_PLAN,
            storage_in_mb="100",
            number_of_nodes="3",
            memory_in_mb="7",
        )
    )
    priced = bill(
        pricing,
        segment(at(0), at(60), kind="service", guid="db", service_plan_guid=PRICED_PLAN),
    )
    assert line(priced, "instance", "db").ex_vat == Decimal(307)


def test_billing_without_a_plan_prices_zero_and_says_so() -> None:
    pricing = document(
        plan("app", component("$time_in_seconds"), valid_from=rfc3339(at(600))),
    )
    priced = bill(
        pricing,
        segment(at(0), at(1200)),
        segment(at(0), at(60), kind="service", guid="db", service_plan_guid=UNPRICED_PLAN),
    )
    assert line(priced).ex_vat == Decimal(600)
    app, service = priced.unpriced
    assert (app.code, app.resource_type, app.start, app.end) == (
        billing.NO_PLAN,
        "app",
        tariff.microseconds(at(0)),
        tariff.microseconds(at(600)),
    )
    assert (service.resource_type, service.service_plan_guid) == ("service", UNPRICED_PLAN)


def test_billing_clips_segments_to_the_window() -> None:
    pricing = document(plan("app", component("$time_in_seconds")))
    priced = billing.price(
        build(pricing), at(100), at(200), [segment(at(0), at(150)), segment(at(190), at(500))]
    )
    assert line(priced).ex_vat == Decimal(60)
    assert billing.price(build(pricing), at(100), at(200), [segment(at(0), at(100))]).lines == {}


def test_billing_leaves_out_lines_of_zero() -> None:
    pricing = document(plan("app", component("$time_in_seconds * 0"), component("1", "fee")))
    priced = bill(pricing, segment(at(0), at(60)))
    assert [key.component for key in priced.lines] == ["fee"]


def test_billing_a_formula_failing_on_one_piece_prices_it_zero_and_goes_on() -> None:
    pricing = document(plan("app", component("1 / ($time_in_seconds - 60)")))
    priced = bill(pricing, segment(at(0), at(60), guid="a"), segment(at(0), at(61), guid="b"))
    assert line(priced, guid="b").ex_vat == Decimal(1)
    [failed] = priced.unpriced
    assert (failed.code, failed.resource_guid, failed.component, failed.reason) == (
        billing.FORMULA_FAILED,
        "a",
        "compute",
        "DivisionByZero",
    )


def test_billing_refuses_a_float_anywhere_in_a_segment() -> None:
    pricing = document(plan("app", component(APP_FORMULA)))
    with pytest.raises(TypeError, match="float"):
        bill(pricing, segment(at(0), at(60), instances=1.5))  # type: ignore[arg-type]


def test_billing_plan_name_and_vat_code_are_those_of_the_latest_piece_in_any_order() -> None:
    pricing = document(
        plan("app", component("1")),
        plan("app", component("1", vat="zero"), valid_from=rfc3339(at(3600)), name="new"),
        vat_rates=[
            {"code": "standard", "valid_from": "2017-01-01", "rate": "0.2"},
            {"code": "zero", "valid_from": "2017-01-01", "rate": "0"},
        ],
    )
    priced = bill(pricing, segment(at(3600), at(3700)), segment(at(0), at(60)))
    assert line(priced) == billing.Line(Decimal(2), Decimal("0.2"), "new", "zero")


def test_billing_microsecond_rows_price_like_segments() -> None:
    pricing = build(document(plan("app", component(APP_FORMULA, currency="USD"))))
    segments = [segment(at(0), at(3600.25), instances=3), segment(at(10), at(99), guid="b")]
    rows = [
        (*s[:4], tariff.microseconds(s.start), tariff.microseconds(s.end), *s[6:]) for s in segments
    ]
    assert billing.price_microseconds(
        pricing, tariff.microseconds(at(0)), tariff.microseconds(at(hours=24)), rows
    ) == billing.price(pricing, at(0), at(hours=24), segments)


def test_billing_no_segments_no_lines() -> None:
    pricing = document(plan("app", component("1")))
    assert bill(pricing) == billing.Priced({}, [])


def test_billing_a_piece_between_rate_changes_uses_the_rate_at_its_start() -> None:
    pricing = document(
        plan("app", component("$time_in_seconds", currency="USD")),
        currency_rates=[
            {"code": "USD", "valid_from": "2017-01-01", "rate": "0.8"},
            {"code": "USD", "valid_from": rfc3339(at(100)), "rate": "0.9"},
            {"code": "USD", "valid_from": rfc3339(at(200)), "rate": "0.7"},
        ],
    )
    priced = bill(pricing, segment(at(120), at(180)), segment(at(250), at(260), guid="b"))
    assert line(priced).ex_vat == Decimal(54)  # 60 s x 0.9: no cut, the middle rate
    assert line(priced, guid="b").ex_vat == Decimal(7)  # 10 s x 0.7


def test_billing_before_any_pricing_everything_is_unpriced() -> None:
    nothing = tariff.empty()
    priced = billing.price(nothing, at(0), at(hours=1), [segment(at(0), at(60))])
    assert nothing.currency is None
    assert priced.lines == {}
    assert [part.code for part in priced.unpriced] == [billing.NO_PLAN]
