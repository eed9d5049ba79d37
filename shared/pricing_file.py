"""A pricing file (CONTRACT "Pricing"), validated into a `pricing.Pricing` or refused.

`parse(content, as_yaml=...)` reads the file (`pricing_reader`), validates the top level, each
rate and each plan version on its own (so that one broken plan does not hide the problems of
the others), then runs the checks across the file (`pricing_checks`). Every problem becomes one
line naming where it is (the plan, its component, the rate) and the bad value; any problem
refuses the whole file with `errors.InvalidPricing`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from shared import errors, pricing, pricing_checks, pricing_reader
from shared.pricing_fields import (
    CurrencyCode,
    FormulaText,
    Moment,
    NonNegativeDecimal,
    Text,
)


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RateEntry(_Entry):
    code: Text
    valid_from: Moment
    rate: NonNegativeDecimal


class ComponentEntry(_Entry):
    name: Text
    currency: CurrencyCode | None = None
    vat: Text
    formula: FormulaText


class PlanEntry(_Entry):
    resource_type: pricing.ResourceType
    service_plan_guid: Text | None = None
    name: Text
    valid_from: Moment
    memory_in_mb: NonNegativeDecimal | None = None
    storage_in_mb: NonNegativeDecimal | None = None
    number_of_nodes: NonNegativeDecimal | None = None
    components: list[ComponentEntry]

    @model_validator(mode="after")
    def _service_fields(self) -> PlanEntry:
        if self.resource_type is pricing.ResourceType.SERVICE:
            if self.service_plan_guid is None:
                raise ValueError("a service plan needs a service_plan_guid")
            return self
        given = [field for field in ("service_plan_guid", *_SERVICE_VARIABLES) if _has(self, field)]
        if given:
            raise ValueError(
                f"{', '.join(given)} belong to service plans only; a {self.resource_type} plan "
                "takes its nodes and memory from usage"
            )
        return self


class FileEntry(_Entry):
    currency: CurrencyCode
    currency_rates: list[Any] = []
    vat_rates: list[Any] = []
    plans: list[Any]


_SERVICE_VARIABLES = tuple(pricing.SERVICE_VARIABLE_DEFAULTS)
M = TypeVar("M", bound=BaseModel)


def _has(model: BaseModel, field: str) -> bool:
    return getattr(model, field) is not None


def parse(content: bytes, *, as_yaml: bool = False) -> pricing.Pricing:
    """The pricing a file holds; InvalidPricing listing every problem when it is refused."""
    data = pricing_reader.read(content, as_yaml=as_yaml)
    if not isinstance(data, dict):
        raise errors.InvalidPricing([f"file must hold one object, not {type(data).__name__}"])
    problems: list[str] = []
    top = _validate(FileEntry, data, "", problems)
    if top is None:
        raise errors.InvalidPricing(problems)
    currency_rates = _rates(top.currency_rates, "currency_rates", problems)
    vat_rates = _rates(top.vat_rates, "vat_rates", problems)
    plans = [
        _plan(entry, top.currency)
        for index, raw in enumerate(top.plans)
        if (entry := _validate(PlanEntry, raw, plan_label(raw, index), problems)) is not None
    ]
    result = pricing.Pricing(
        currency=top.currency,
        currency_rates=pricing.sort_rates(currency_rates),
        vat_rates=pricing.sort_rates(vat_rates),
        plans=pricing.sort_plans(plans),
    )
    problems += pricing_checks.problems(result)
    if problems:
        raise errors.InvalidPricing(problems)
    return result


def _rates(raws: list[Any], field: str, problems: list[str]) -> list[pricing.Rate]:
    found: list[pricing.Rate] = []
    for index, raw in enumerate(raws):
        entry = _validate(RateEntry, raw, rate_label(raw, field, index), problems)
        if entry is not None:
            found.append(
                pricing.Rate(code=entry.code, valid_from=entry.valid_from, rate=entry.rate)
            )
    return found


def _plan(entry: PlanEntry, currency: str) -> pricing.PlanVersion:
    given = {field: getattr(entry, field) for field in pricing.SERVICE_VARIABLE_DEFAULTS}
    return pricing.PlanVersion(
        resource_type=entry.resource_type,
        service_plan_guid=entry.service_plan_guid,
        name=entry.name,
        valid_from=entry.valid_from,
        components=tuple(
            pricing.Component(
                name=c.name, currency=c.currency or currency, vat=c.vat, formula=c.formula
            )
            for c in entry.components
        ),
        **{
            field: pricing.SERVICE_VARIABLE_DEFAULTS[field] if value is None else value
            for field, value in given.items()
        },
    )


def _validate(model: type[M], raw: Any, where: str, problems: list[str]) -> M | None:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_describe(error, raw, where) for error in exc.errors())
        return None


def _describe(error: Any, raw: Any, where: str) -> str:
    """One problem line: where it is, which field, what was wrong with which value."""
    location = list(error["loc"])
    parts = [where] if where else []
    if len(location) >= 2 and location[0] == "components" and isinstance(location[1], int):
        component = _item(_item(raw, "components"), location[1])
        name = _item(component, "name")
        label = f"component {name!r}" if isinstance(name, str) else f"components[{location[1]}]"
        parts.append(label)
        location = location[2:]
    field = ".".join(str(part) for part in location)
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "is required"
    elif error["type"] == "extra_forbidden":
        message = "is not a field of a pricing file (a typo?)"
    elif not error["type"].startswith("value_error"):
        message += f", got {_show(error.get('input'))}"
    parts.append(f"{field}: {message}" if field else message)
    return ", ".join(parts)


def plan_label(raw: Any, index: int) -> str:
    """`plans[2] 'postgres small' (service plan 9c0b..., valid_from 2017-01-01)`."""
    name = _item(raw, "name")
    label = f"plans[{index}]" + (f" {name!r}" if isinstance(name, str) else "")
    kind = _item(raw, "resource_type")
    guid = _item(raw, "service_plan_guid")
    details = [f"service plan {guid}" if isinstance(guid, str) else str(kind or "")]
    details += [f"valid_from {_item(raw, 'valid_from')}"] if _item(raw, "valid_from") else []
    shown = ", ".join(d for d in details if d)
    return f"{label} ({shown})" if shown else label


def rate_label(raw: Any, field: str, index: int) -> str:
    """`vat_rates[1] (standard, valid_from 2017-01-01)`."""
    details = [str(_item(raw, "code") or "")]
    details += [f"valid_from {_item(raw, 'valid_from')}"] if _item(raw, "valid_from") else []
    shown = ", ".join(d for d in details if d)
    return f"{field}[{index}] ({shown})" if shown else f"{field}[{index}]"


def _item(raw: Any, key: Any) -> Any:
    if isinstance(raw, dict):
        return raw.get(key)
    if isinstance(raw, list) and isinstance(key, int) and 0 <= key < len(raw):
        return raw[key]
    return None


def _show(value: Any) -> str:
    text = repr(str(value) if isinstance(value, str) else value)
    return text if len(text) <= 80 else text[:77] + "..."
