"""The pricing (CONTRACT "Pricing"): plans with dated versions, components, dated rates.

These frozen models are the pricing once validated (`pricing_file` reads and checks a file
into them; `pricing_store` keeps and loads the one in force): every `valid_from` an aware UTC
time, every number a `Decimal`, every component's currency resolved (the billing currency when
the file named none), versions and rates sorted. `to_document` gives the pricing back as a
JSON-ready pricing file (numbers as strings), for `pricing show --format json` and the HTTP API.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class ResourceType(StrEnum):
    """What a plan prices: the report's resource types."""

    APP = "app"
    TASK = "task"
    STAGING = "staging"
    SERVICE = "service"


# A plan's identity: its resource type and, for services, its service plan guid.
PlanKey = tuple[str, str | None]
# The variables a service plan fixes, and their defaults (CONTRACT: 0, 0 and 1).
SERVICE_VARIABLE_DEFAULTS = {
    "memory_in_mb": Decimal(0),
    "storage_in_mb": Decimal(0),
    "number_of_nodes": Decimal(1),
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Rate(_Frozen):
    """What one unit of `code` is worth in the billing currency (a currency rate), or the
    fraction of ex-VAT added as VAT (a VAT rate), from `valid_from` until the code's next."""

    code: str
    valid_from: datetime
    rate: Decimal


class Component(_Frozen):
    """One priced part of a plan version: a formula in `currency`, taxed at VAT code `vat`."""

    name: str
    currency: str
    vat: str
    formula: str


class PlanVersion(_Frozen):
    """A plan as it holds from `valid_from` until the same plan's next version."""

    resource_type: ResourceType
    service_plan_guid: str | None
    name: str
    valid_from: datetime
    memory_in_mb: Decimal
    storage_in_mb: Decimal
    number_of_nodes: Decimal
    components: tuple[Component, ...]

    @property
    def key(self) -> PlanKey:
        return (self.resource_type.value, self.service_plan_guid)


class Pricing(_Frozen):
    """A whole pricing: every version past and future, sorted by key and valid_from."""

    currency: str
    currency_rates: tuple[Rate, ...]
    vat_rates: tuple[Rate, ...]
    plans: tuple[PlanVersion, ...]

    def versions(self) -> dict[PlanKey, list[PlanVersion]]:
        """Each plan's versions in valid_from order."""
        found: dict[PlanKey, list[PlanVersion]] = {}
        for version in self.plans:
            found.setdefault(version.key, []).append(version)
        return found


def empty(currency: str) -> Pricing:
    """A pricing with nothing in it: what is in force before any file was applied."""
    return Pricing(currency=currency, currency_rates=(), vat_rates=(), plans=())


def sort_rates(rates: list[Rate]) -> tuple[Rate, ...]:
    return tuple(sorted(rates, key=lambda rate: (rate.code, rate.valid_from)))


def sort_plans(plans: list[PlanVersion]) -> tuple[PlanVersion, ...]:
    return tuple(
        sorted(
            plans,
            key=lambda p: (p.resource_type.value, p.service_plan_guid or "", p.valid_from),
        )
    )


def describe_plan(key: PlanKey) -> str:
    """How a plan is named in messages: `app`, `service plan 9c0b...`."""
    resource_type, service_plan_guid = key
    return f"service plan {service_plan_guid}" if service_plan_guid else resource_type


def moment_text(moment: datetime) -> str:
    """RFC 3339 in UTC with `Z`, microseconds only when there are some."""
    text = moment.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def decimal_text(value: Decimal) -> str:
    """A decimal as plain text, never with an exponent (`0.0000001`, not `1E-7`)."""
    return format(value, "f")


def to_document(pricing: Pricing) -> dict[str, Any]:
    """The pricing as a JSON-ready pricing file that reads back into the same pricing."""
    return {
        "currency": pricing.currency,
        "currency_rates": list(_rate_documents(pricing.currency_rates)),
        "vat_rates": list(_rate_documents(pricing.vat_rates)),
        "plans": [_plan_document(plan) for plan in pricing.plans],
    }


def _rate_documents(rates: tuple[Rate, ...]) -> Iterator[dict[str, str]]:
    for rate in rates:
        yield {
            "code": rate.code,
            "valid_from": moment_text(rate.valid_from),
            "rate": decimal_text(rate.rate),
        }


def _plan_document(plan: PlanVersion) -> dict[str, Any]:
    document: dict[str, Any] = {"resource_type": plan.resource_type.value}
    if plan.service_plan_guid is not None:
        document["service_plan_guid"] = plan.service_plan_guid
    document["name"] = plan.name
    document["valid_from"] = moment_text(plan.valid_from)
    if plan.resource_type is ResourceType.SERVICE:
        for field in SERVICE_VARIABLE_DEFAULTS:
            document[field] = decimal_text(getattr(plan, field))
    document["components"] = [
        {"name": c.name, "currency": c.currency, "vat": c.vat, "formula": c.formula}
        for c in plan.components
    ]
    return document
