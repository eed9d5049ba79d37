"""Pricings and segments for the bill engine's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from reporter import billing, tariff
from shared import pricing_file

# The start of the windows tests bill.
T0 = datetime(2026, 10, 1, tzinfo=UTC)
# A service plan the test pricings price, and one they do not.
PRICED_PLAN = "11111111-1111-4111-8111-111111111111"
UNPRICED_PLAN = "22222222-2222-4222-8222-222222222222"


def component(
    formula: str, name: str = "compute", currency: str = "GBP", vat: str = "standard"
) -> dict[str, str]:
    return {"name": name, "currency": currency, "vat": vat, "formula": formula}


def plan(
    resource_type: str,
    *components: dict[str, str],
    valid_from: str = "2017-01-01",
    name: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "resource_type": resource_type,
        "name": name or resource_type,
        "valid_from": valid_from,
        "components": list(components),
        **extra,
    }


def document(
    *plans: dict[str, Any],
    currency_rates: list[dict[str, str]] | None = None,
    vat_rates: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    return {
        "currency": "GBP",
        "currency_rates": currency_rates
        or [{"code": "USD", "valid_from": "2017-01-01", "rate": "0.8"}],
        "vat_rates": vat_rates or [{"code": "standard", "valid_from": "2017-01-01", "rate": "0.2"}],
        "plans": list(plans),
    }


def build(pricing: dict[str, Any]) -> tariff.Tariff:
    return tariff.build(pricing_file.parse(orjson.dumps(pricing)))


def at(seconds: float = 0, **delta: float) -> datetime:
    return T0 + timedelta(seconds=seconds, **delta)


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def segment(
    start: datetime,
    end: datetime,
    *,
    kind: str = "app",
    guid: str = "app-1",
    instances: int = 1,
    memory: int = 1024,
    service_plan_guid: str | None = None,
    foundation: str = "default",
) -> billing.Segment:
    return billing.Segment(kind, foundation, guid, service_plan_guid, start, end, instances, memory)
