"""Checks across a whole pricing, after each part of the file was validated on its own.

Two versions of one plan with the same `valid_from`, two rates of one code with the same
`valid_from`, a component whose currency or VAT code has no rate from its plan version's
`valid_from` on, a formula that fails with all four variables at 0 or at 1: each is one problem
line naming the plan, the component and the value.
"""

from __future__ import annotations

import decimal
from collections import Counter
from decimal import Decimal

from shared import errors, formula, formula_syntax, pricing

# The variable values every formula is tried with when a file is applied.
TRIAL_VALUES = (Decimal(0), Decimal(1))


def problems(checked: pricing.Pricing) -> list[str]:
    """Every problem across the pricing, in file order of kind: rates, then plans."""
    found: list[str] = []
    found += _rate_problems(checked.currency_rates, "currency_rates")
    found += _rate_problems(checked.vat_rates, "vat_rates")
    found += _billing_currency_problems(checked)
    found += _version_problems(checked)
    for version in checked.plans:
        found += _component_problems(checked, version)
    return found


def label(version: pricing.PlanVersion) -> str:
    """`plan 'postgres small' (service plan 9c0b..., valid_from 2017-01-01T00:00:00Z)`."""
    return (
        f"plan {version.name!r} ({pricing.describe_plan(version.key)}, "
        f"valid_from {pricing.moment_text(version.valid_from)})"
    )


def _rate_problems(rates: tuple[pricing.Rate, ...], field: str) -> list[str]:
    counts = Counter((rate.code, rate.valid_from) for rate in rates)
    return [
        f"{field} ({code}, valid_from {pricing.moment_text(moment)}): given {count} times; "
        "one rate per code and valid_from"
        for (code, moment), count in counts.items()
        if count > 1
    ]


def _billing_currency_problems(checked: pricing.Pricing) -> list[str]:
    found: list[str] = []
    for rate in checked.currency_rates:
        where = f"currency_rates ({rate.code}, valid_from {pricing.moment_text(rate.valid_from)})"
        if rate.code == checked.currency and rate.rate != 1:
            found.append(
                f"{where}: rate {rate.rate}: the billing currency {checked.currency} is always "
                "worth 1"
            )
        elif rate.rate == 0:
            found.append(f"{where}: rate 0: a currency must be worth more than nothing")
    return found


def _version_problems(checked: pricing.Pricing) -> list[str]:
    found: list[str] = []
    for versions in checked.versions().values():
        counts = Counter(version.valid_from for version in versions)
        for version in versions:
            if counts.pop(version.valid_from, 1) > 1:
                found.append(
                    f"{label(version)}: two versions of {pricing.describe_plan(version.key)} "
                    f"have valid_from {pricing.moment_text(version.valid_from)}"
                )
    return found


def _component_problems(checked: pricing.Pricing, version: pricing.PlanVersion) -> list[str]:
    found: list[str] = []
    names = Counter(component.name for component in version.components)
    found += [
        f"{label(version)}, component {name!r}: named {count} times in one version"
        for name, count in names.items()
        if count > 1
    ]
    context = formula.new_context()
    for component in version.components:
        where = f"{label(version)}, component {component.name!r}"
        if component.currency != checked.currency and not _has_rate(
            checked.currency_rates, component.currency, version
        ):
            found.append(
                f"{where}: currency {component.currency!r} has no rate from "
                f"{pricing.moment_text(version.valid_from)} on"
            )
        if not _has_rate(checked.vat_rates, component.vat, version):
            found.append(
                f"{where}: vat {component.vat!r} has no rate from "
                f"{pricing.moment_text(version.valid_from)} on"
            )
        found += [f"{where}: {problem}" for problem in _formula_problems(component, context)]
    return found


def _has_rate(rates: tuple[pricing.Rate, ...], code: str, version: pricing.PlanVersion) -> bool:
    return any(rate.code == code and rate.valid_from <= version.valid_from for rate in rates)


def _formula_problems(component: pricing.Component, context: decimal.Context) -> list[str]:
    try:
        compiled = formula.compile(component.formula, context)
        for value in TRIAL_VALUES:
            compiled.evaluate(dict.fromkeys(formula_syntax.VARIABLES, value))
    except errors.InvalidFormula as exc:
        return [f"formula: {exc}"]
    except errors.FormulaFailed as exc:
        return [str(exc)]
    return []
