"""Pricing files: the contract's schema read into decimals and UTC times, every problem named."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
import yaml

from shared import errors, pricing, pricing_file
from tests.support.pricing_documents import SERVICE_PLAN, sample


def parse(document: dict[str, Any]) -> pricing.Pricing:
    return pricing_file.parse(orjson.dumps(document))


def problems(document: dict[str, Any] | bytes) -> list[str]:
    content = document if isinstance(document, bytes) else orjson.dumps(document)
    with pytest.raises(errors.InvalidPricing) as refused:
        pricing_file.parse(content)
    return refused.value.problems


def test_pricing_file_reads_the_contract_example() -> None:
    read = parse(sample())
    assert read.currency == "GBP"
    assert read.currency_rates == (
        pricing.Rate(code="USD", valid_from=datetime(2017, 1, 1, tzinfo=UTC), rate=Decimal("0.8")),
    )
    app, service = read.plans
    assert app.key == ("app", None)
    assert app.components[0].currency == "USD"
    assert service.key == ("service", SERVICE_PLAN)
    variables = (service.memory_in_mb, service.storage_in_mb, service.number_of_nodes)
    assert variables == (Decimal(0), Decimal(102400), Decimal(1))


def test_pricing_file_reads_json_numbers_as_decimals_never_floats() -> None:
    text = orjson.dumps(sample()).decode().replace('"rate":"0.8"', '"rate":0.1000000000000000001')
    read = pricing_file.parse(text.encode())
    assert read.currency_rates[0].rate == Decimal("0.1000000000000000001")
    assert str(read.currency_rates[0].rate) == "0.1000000000000000001"


def test_pricing_file_component_currency_defaults_to_the_billing_currency() -> None:
    document = sample()
    del document["plans"][0]["components"][0]["currency"]
    assert parse(document).plans[0].components[0].currency == "GBP"


def test_pricing_file_valid_from_is_a_date_at_midnight_utc_or_an_rfc3339_time() -> None:
    document = sample()
    document["plans"][0]["valid_from"] = "2017-01-02T01:30:00+02:00"
    document["plans"][1]["valid_from"] = "2017-02-01"
    app, service = parse(document).plans
    assert app.valid_from == datetime(2017, 1, 1, 23, 30, tzinfo=UTC)
    assert service.valid_from == datetime(2017, 2, 1, tzinfo=UTC)


def test_pricing_file_yaml_reads_like_json_with_numbers_as_written() -> None:
    document = sample()
    document["currency_rates"][0]["rate"] = 0.1  # a YAML float literal in the text below
    text = yaml.safe_dump(document).replace("rate: 0.1", "rate: 0.10000000000000000001")
    read = pricing_file.parse(text.encode(), as_yaml=True)
    assert read.currency_rates[0].rate == Decimal("0.10000000000000000001")
    assert read.plans == parse(sample()).plans


def test_pricing_file_document_reads_back_into_the_same_pricing() -> None:
    read = parse(sample())
    assert parse(pricing.to_document(read)) == read
    assert json.dumps(pricing.to_document(read))  # JSON-ready: strings, no Decimals


def test_pricing_file_may_hold_no_plans_and_free_versions() -> None:
    document = sample()
    document["plans"][0]["components"] = []
    assert parse(document).plans[0].components == ()
    assert parse({"currency": "EUR", "plans": []}).plans == ()


def _change(path: str, value: Any) -> dict[str, Any]:
    """The sample with one value set (`plans.0.components.0.formula`); `...` deletes it."""
    document = copy.deepcopy(sample())
    *parents, last = path.split(".")
    target: Any = document
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    key = int(last) if last.isdigit() else last
    if value is ...:
        del target[key]
    else:
        target[key] = value
    return document


APP = "plans[0] 'app' (app, valid_from 2017-01-01)"
SERVICE = f"plans[1] 'postgres small' (service plan {SERVICE_PLAN}, valid_from 2017-01-01)"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("currency", "pounds", "currency: 'pounds' is not a currency code"),
        ("currency", ..., "currency: is required"),
        ("plans", ..., "plans: is required"),
        ("vat_rate", [], "vat_rate: is not a field of a pricing file"),
        ("plans.0.resource_type", "vm", "resource_type: Input should be 'app'"),
        ("plans.0.resource_type", "vm", "got 'vm'"),
        ("plans.0.name", "", f"{APP.replace(chr(39) + 'app' + chr(39), repr(''))}, name: is empty"),
        ("plans.0.valid_from", "yesterday", "valid_from: 'yesterday' is not a date"),
        ("plans.0.valid_from", "2017-01-01T00:00:00", "'2017-01-01T00:00:00' is not a date"),
        ("plans.0.valid_from", "2017-02-30", "'2017-02-30' is not a valid date"),
        ("plans.0.components.0.formula", "$x * 2", f"{APP}, component 'compute', formula: unknown"),
        ("plans.0.components.0.formula", "2 ^ 3", "'^' at position 3"),
        ("plans.0.components.0.formula", 7, "formula: '7' is not text"),
        ("plans.0.components.0.currency", "usd", "component 'compute', currency: 'usd' is not"),
        ("plans.0.components.0.vat", ..., "component 'compute', vat: is required"),
        ("plans.0.components.0.colour", "red", "colour: is not a field"),
        ("plans.0.memory_in_mb", "5", f"{APP}, memory_in_mb belong to service plans only"),
        ("plans.0.service_plan_guid", "x", "service_plan_guid belong to service plans only"),
        ("plans.1.service_plan_guid", ..., "a service plan needs a service_plan_guid"),
        ("plans.1.storage_in_mb", "1e5", f"{SERVICE}, storage_in_mb: 1e5 has an exponent"),
        ("plans.1.storage_in_mb", "-1", "storage_in_mb: -1 is negative"),
        ("plans.1.storage_in_mb", "lots", "storage_in_mb: 'lots' is not a plain decimal"),
        ("plans.1.number_of_nodes", True, "number_of_nodes: True is a binary float or a boolean"),
        ("currency_rates.0.rate", "-0.8", "currency_rates[0] (USD, valid_from 2017-01-01), rate"),
        ("currency_rates.0.rate", "NaN", "rate: 'NaN' is not a plain decimal number"),
        ("currency_rates.0.rate", "0", "rate 0: a currency must be worth more than nothing"),
        ("vat_rates.0.valid_from", "2018-01-01", "vat 'standard' has no rate from 2017-01-01"),
        ("currency_rates.0.valid_from", "2018-01-01", "currency 'USD' has no rate from 2017"),
        ("plans.0.components.0.currency", "EUR", "currency 'EUR' has no rate"),
        ("plans.0.components.0.formula", "1 / $time_in_seconds", "$time_in_seconds=0"),
        ("plans.0.components.0.formula", "1 / ($number_of_nodes - 1)", "$number_of_nodes=1"),
        ("plans.0.components.0.formula", "1 / 0", "formula '1 / 0' fails: division by zero"),
    ],
)
def test_pricing_file_refusal_names_where_and_the_bad_value(
    path: str, value: Any, expected: str
) -> None:
    found = problems(_change(path, value))
    assert any(expected in line for line in found), found


def test_pricing_file_names_every_problem_one_line_each() -> None:
    document = sample()
    document["plans"][0]["components"][0]["formula"] = "2 ^ 3"
    document["plans"][1]["storage_in_mb"] = "1e5"
    document["vat_rates"][1]["rate"] = "-1"
    found = problems(document)
    assert len(found) == 3, found
    assert all("\n" not in line for line in found)


def test_pricing_file_refuses_two_versions_with_the_same_valid_from() -> None:
    document = sample()
    twin = copy.deepcopy(document["plans"][0])
    twin["valid_from"] = "2017-01-01T00:00:00Z"
    twin["name"] = "app 2"
    document["plans"].append(twin)
    [line] = problems(document)
    assert "two versions of app have valid_from 2017-01-01T00:00:00Z" in line


def test_pricing_file_refuses_two_rates_of_one_code_with_the_same_valid_from() -> None:
    document = sample()
    document["vat_rates"].append({"code": "zero", "valid_from": "2017-01-01", "rate": "0"})
    [line] = problems(document)
    assert "vat_rates (zero, valid_from 2017-01-01T00:00:00Z): given 2 times" in line


def test_pricing_file_refuses_a_billing_currency_rate_other_than_one() -> None:
    document = sample()
    document["currency_rates"].append({"code": "GBP", "valid_from": "2017-01-01", "rate": "2"})
    assert "the billing currency GBP is always worth 1" in problems(document)[0]
    document["currency_rates"][-1]["rate"] = "1.00"
    assert parse(document)


def test_pricing_file_rates_from_after_the_plan_are_not_enough() -> None:
    document = sample()
    document["currency_rates"].append({"code": "USD", "valid_from": "2016-01-01", "rate": "0.7"})
    document["vat_rates"].append({"code": "standard", "valid_from": "2016-01-01", "rate": "0.2"})
    document["plans"][0]["valid_from"] = "2016-06-01"
    assert parse(document)
    document["plans"][0]["valid_from"] = "2015-06-01"
    found = problems(document)
    assert any("currency 'USD' has no rate from 2015-06-01T00:00:00Z on" in p for p in found)
    assert any("vat 'standard' has no rate from 2015-06-01T00:00:00Z on" in p for p in found)
    assert not any("vat 'zero'" in p for p in found)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{", "file is not JSON"),
        (b"[]", "one object, not list"),
        (b'{"currency": "GBP", "currency": "USD", "plans": []}', "key 'currency' is given twice"),
        (b'{"currency": "GBP", "plans": [], "x": NaN}', "NaN is not a number"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_pricing_file_refuses_what_cannot_be_read(content: bytes, fragment: str) -> None:
    [line] = problems(content)
    assert fragment in line


def test_pricing_file_yaml_refuses_duplicate_keys_and_exponents() -> None:
    with pytest.raises(errors.InvalidPricing, match="given twice"):
        pricing_file.parse(b"currency: GBP\ncurrency: USD\nplans: []\n", as_yaml=True)
    text = yaml.safe_dump(sample()).replace("storage_in_mb: 102400", "storage_in_mb: 1.0e+5")
    with pytest.raises(errors.InvalidPricing) as refused:
        pricing_file.parse(text.encode(), as_yaml=True)
    assert "1.0e+5 has an exponent" in refused.value.problems[0]


def test_pricing_file_hand_written_yaml_keeps_dates_and_numbers_as_written() -> None:
    text = b"""
currency: GBP
currency_rates:
  - {code: USD, valid_from: 2017-01-01, rate: 0.80000000000000000001}
vat_rates:
  - {code: standard, valid_from: 2017-01-01T00:00:00Z, rate: 0.2}
plans:
  - resource_type: app
    name: app
    valid_from: 2017-01-01
    components:
      - {name: compute, currency: USD, vat: standard, formula: "$time_in_seconds * 0.01"}
"""
    read = pricing_file.parse(text, as_yaml=True)
    assert read.currency_rates[0].rate == Decimal("0.80000000000000000001")
    assert read.vat_rates[0].valid_from == datetime(2017, 1, 1, tzinfo=UTC)
    assert read.plans[0].valid_from == datetime(2017, 1, 1, tzinfo=UTC)
