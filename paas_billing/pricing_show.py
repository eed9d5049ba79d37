"""What `paas-billing pricing show` prints: the pricing in force, as text or as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared import closed_months, pricing, pricing_store

# Shown instead of a pricing before any file was applied.
NOTHING_IN_FORCE = "No pricing in force: apply one with `paas-billing pricing apply FILE`.\n"


def as_document(
    in_force: pricing_store.InForce | None, closed: Sequence[closed_months.ClosedMonth]
) -> dict[str, Any]:
    """JSON-ready: the applied file's details, the pricing as a pricing file, closed months."""
    return {
        "file": None if in_force is None else _file_document(in_force),
        "pricing": None if in_force is None else pricing.to_document(in_force.pricing),
        "closed_months": [
            {
                "month": closed_months.month_text(month.month),
                "closed_at": pricing.moment_text(month.closed_at),
            }
            for month in closed
        ],
    }


def _file_document(in_force: pricing_store.InForce) -> dict[str, Any]:
    return {
        "id": in_force.file_id,
        "name": in_force.file_name,
        "sha256": in_force.sha256,
        "applied_at": pricing.moment_text(in_force.applied_at),
        "applied_by": in_force.applied_by,
        "in_force_since": pricing.moment_text(in_force.since),
    }


def as_text(
    in_force: pricing_store.InForce | None,
    closed: Sequence[closed_months.ClosedMonth],
    now: datetime,
) -> str:
    """Readable: rates and plan versions in time order, `<- now` by what holds at `now`."""
    if in_force is None:
        return NOTHING_IN_FORCE + _closed_text(closed)
    shown = in_force.pricing
    lines = [
        f"Pricing in force since {pricing.moment_text(in_force.since)}: file "
        f"#{in_force.file_id} {in_force.file_name!r}, sha256 {in_force.sha256}, applied by "
        f"{in_force.applied_by}",
        f"Billing currency: {shown.currency} (every amount of a bill is in it)",
        "",
        f"Currency rates (what one unit is worth in {shown.currency}):",
        *_rate_lines(shown.currency_rates, now),
        "",
        "VAT rates (fraction of ex-VAT added as VAT):",
        *_rate_lines(shown.vat_rates, now),
        "",
        "Plans (each version holds from its valid_from until the next):",
    ]
    for key, versions in shown.versions().items():
        lines.append(f"  {pricing.describe_plan(key)}")
        current = _current(versions, now)
        for version in versions:
            marker = "  <- now" if version is current else ""
            lines.append(
                f"    from {pricing.moment_text(version.valid_from)}  {version.name!r}"
                f"{_service_variables(version)}{marker}"
            )
            lines += [
                f"      {c.name}: {c.formula}  [{c.currency}, VAT {c.vat}]"
                for c in version.components
            ]
            if not version.components:
                lines.append("      (no components: free)")
    if not shown.plans:
        lines.append("  (none: all usage is priced 0, with a no_plan warning)")
    return "\n".join(lines) + "\n\n" + _closed_text(closed)


def _rate_lines(rates: tuple[pricing.Rate, ...], now: datetime) -> list[str]:
    if not rates:
        return ["  (none)"]
    lines: list[str] = []
    codes: dict[str, list[pricing.Rate]] = {}
    for rate in rates:
        codes.setdefault(rate.code, []).append(rate)
    for code, dated in codes.items():
        current = _current(dated, now)
        lines += [
            f"  {code:<12} {pricing.decimal_text(rate.rate):<14} from "
            f"{pricing.moment_text(rate.valid_from)}{'  <- now' if rate is current else ''}"
            for rate in dated
        ]
    return lines


def _current(dated: Sequence[Any], now: datetime) -> Any:
    """The last of `dated` (sorted by valid_from) that holds at `now`, if any."""
    held = [entry for entry in dated if entry.valid_from <= now]
    return held[-1] if held else None


def _service_variables(version: pricing.PlanVersion) -> str:
    if version.resource_type is not pricing.ResourceType.SERVICE:
        return ""
    values = ", ".join(
        f"{name} {pricing.decimal_text(getattr(version, name))}"
        for name in pricing.SERVICE_VARIABLE_DEFAULTS
    )
    return f"  ({values})"


def _closed_text(closed: Sequence[closed_months.ClosedMonth]) -> str:
    if not closed:
        return "Closed months: none\n"
    months = ", ".join(
        f"{closed_months.month_text(m.month)} (closed {pricing.moment_text(m.closed_at)})"
        for m in closed
    )
    return f"Closed months (their prices can no longer change): {months}\n"
