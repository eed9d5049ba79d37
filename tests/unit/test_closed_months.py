"""Closed months: a new pricing may not change what was in force during one."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest

from shared import closed_months, pricing, pricing_file
from tests.support.pricing_documents import sample

SEPTEMBER = closed_months.ClosedMonth(date(2026, 9, 1), datetime(2026, 10, 1, 2, tzinfo=UTC))


def changes(
    document: dict[str, Any], closed: list[closed_months.ClosedMonth] | None = None
) -> list[str]:
    old = pricing_file.parse(orjson.dumps(sample()))
    new = pricing_file.parse(orjson.dumps(document))
    return closed_months.changes(old, new, [SEPTEMBER] if closed is None else closed)


def with_version(valid_from: str, formula: str = "$time_in_seconds * 0.02") -> dict[str, Any]:
    document = sample()
    version = copy.deepcopy(document["plans"][0])
    version["valid_from"] = valid_from
    version["components"][0]["formula"] = formula
    document["plans"].append(version)
    return document


def test_closed_months_the_same_pricing_changes_nothing() -> None:
    assert changes(sample()) == []


def test_closed_months_anything_goes_without_a_closed_month() -> None:
    assert changes(with_version("2026-09-15"), closed=[]) == []


def test_closed_months_a_version_from_after_the_month_is_allowed() -> None:
    assert changes(with_version("2026-10-01")) == []
    assert changes(with_version("2027-01-01")) == []


def test_closed_months_a_version_from_inside_the_month_is_refused() -> None:
    [line] = changes(with_version("2026-09-15"))
    assert line.startswith("plan app: version 'app' from 2026-09-01T00:00:00Z would become")
    assert "version 'app' from 2026-09-15T00:00:00Z" in line
    assert line.endswith("in force during closed month 2026-09 (closed at 2026-10-01T02:00:00Z)")


def test_closed_months_a_version_from_before_the_month_replacing_it_is_refused() -> None:
    [line] = changes(with_version("2026-08-01"))
    assert "plan app version 'app' (in force there from 2026-09-01T00:00:00Z): component" in line
    assert "would become '$time_in_seconds * 0.02'" in line
    assert "closed month 2026-09" in line


def test_closed_months_an_edited_formula_names_the_component() -> None:
    document = sample()
    document["plans"][1]["components"][0]["formula"] = "ceil($time_in_seconds / 3600) * 0.05"
    [line] = changes(document)
    assert "plan service plan 9c0b6b8e-2a9f-4c52-8d7a-2c1e0c4f5a10" in line
    assert "component 'instance' formula 'ceil($time_in_seconds / 3600) * 0.041'" in line


def test_closed_months_service_variables_and_names_count() -> None:
    document = sample()
    document["plans"][1]["storage_in_mb"] = "204800"
    document["plans"][1]["name"] = "postgres medium"
    found = changes(document)
    assert any("storage_in_mb 102400 would become 204800" in line for line in found)
    assert any("name postgres small would become postgres medium" in line for line in found)


def test_closed_months_removing_or_adding_a_plan_is_refused() -> None:
    document = sample()
    del document["plans"][0]
    [line] = changes(document)
    assert "plan app: version 'app' from 2026-09-01T00:00:00Z would be removed" in line
    document = sample()
    task = copy.deepcopy(document["plans"][0])
    task["resource_type"] = "task"
    document["plans"].append(task)
    [line] = changes(document)
    assert "plan task: version 'app' from 2026-09-01T00:00:00Z would be added" in line


def test_closed_months_a_rate_in_force_may_not_change() -> None:
    document = sample()
    document["vat_rates"][0]["rate"] = "0.25"
    [line] = changes(document)
    assert line.startswith("vat_rates 'standard': 0.2 from 2026-09-01T00:00:00Z would become 0.25")
    document = sample()
    document["currency_rates"].append({"code": "USD", "valid_from": "2026-09-10", "rate": "0.9"})
    [line] = changes(document)
    assert "currency_rates 'USD'" in line and "0.9 from 2026-09-10T00:00:00Z" in line


def test_closed_months_rates_before_and_after_may_change() -> None:
    document = sample()
    document["currency_rates"][0]["valid_from"] = "2016-01-01"  # still 0.8 during September
    document["currency_rates"].append({"code": "USD", "valid_from": "2026-10-01", "rate": "0.9"})
    document["vat_rates"][0]["rate"] = "0.20"  # the same number written otherwise
    assert changes(document) == []


def test_closed_months_a_new_currency_is_refused() -> None:
    document = sample()
    document["currency"] = "EUR"
    document["currency_rates"].append({"code": "GBP", "valid_from": "2017-01-01", "rate": "1.1"})
    [line] = changes(document)
    assert line.startswith("currency GBP would become EUR; in force during closed month 2026-09")


def test_closed_months_each_closed_month_is_named() -> None:
    october = closed_months.ClosedMonth(date(2026, 10, 1), datetime(2026, 11, 1, tzinfo=UTC))
    document = sample()
    document["vat_rates"][0]["rate"] = "0.25"
    found = changes(document, [SEPTEMBER, october])
    assert [line.split("closed month ")[1][:7] for line in found] == ["2026-09", "2026-10"]


def test_closed_months_nothing_in_force_before_then_a_plan_for_the_month_is_refused() -> None:
    empty = pricing.empty("GBP")
    new = pricing_file.parse(orjson.dumps(sample()))
    found = closed_months.changes(empty, new, [SEPTEMBER])
    assert any("plan app" in line and "would be added" in line for line in found)


@pytest.mark.parametrize(
    ("text", "first", "following"),
    [
        ("2026-09", datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)),
        ("2026-12", datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    ],
)
def test_closed_months_month_bounds(text: str, first: datetime, following: datetime) -> None:
    assert closed_months.bounds(closed_months.parse_month(text)) == (first, following)


@pytest.mark.parametrize("text", ["2026-13", "2026-9", "2026-00", "september", "2026-09-01"])
def test_closed_months_refuses_what_is_not_a_month(text: str) -> None:
    with pytest.raises(ValueError, match=repr(text)):
        closed_months.parse_month(text)
